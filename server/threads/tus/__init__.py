"""tus 1.0.0 uploads: ``protocol`` (pure), ``receiver`` (bytes to disk) and ``http``.

The use cases between them (create, append, finish, terminate) are the uploads
service, ``server.threads.uploads``.
"""
