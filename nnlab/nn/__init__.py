"""The lecture's mathematics written out (numpy first), each piece checked against torch in tests."""
