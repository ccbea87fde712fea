"""``edgedeblur serve``: the photo, album and live workflows in a browser, served by the device.

``app.create_app(ServeConfig(...))`` builds the Starlette app; ``client.ServeClient`` calls
its JSON API from scripts. Modules by job: ``config`` (options, access token), ``state``
(what the routes share), ``uploads`` (limits, expiry), ``jobs`` (the one work queue),
``photo`` (preview and full-resolution deblurring), ``album``, ``live`` (one shared camera
pipeline), ``api`` and ``app`` (routes).
"""
