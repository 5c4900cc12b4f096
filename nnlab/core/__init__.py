"""What every experiment shares: config, run directories, seeding, device, console, plotting, claims."""
