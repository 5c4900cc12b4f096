"""`nnlab serve`: the lab in the browser, a local ASGI application (Starlette, served by uvicorn).

    cli.py      the click command: host, port, token, workers; starts uvicorn (imports nothing heavy until then)
    app.py      the routes: the pages (one shell, drawn by static/app.js) and the JSON API they use
    guard.py    safe by default: the token, the Host header, bounded bodies, files only from under --out
    schema.py   every command's config as a JSON schema, and a form's values as the CLI's own options
    jobs.py     runs in worker processes (the CLI itself), at most --workers at once, the rest queued
    index.py    the runs under --out, listed fast (a cache keyed by file times), one run as JSON, compare

Importing this package imports neither torch nor starlette: the app is built by app.create_app().
"""
