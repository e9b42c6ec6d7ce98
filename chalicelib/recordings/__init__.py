"""Call recordings in the owner's own S3: archived from Twilio after each call, played through presigned URLs.

* ``archive``: the ``recordings`` subscriber (``call.completed``/``call.updated``): copy,
  verify (size and SHA-256), record on the call, delete Twilio's copy; ``call.deleted``
  deletes the object.
* ``playback``: a short-lived presigned GET URL for an authorised caller (archiving on
  first request a call the subscriber has not reached yet).
* ``storage``: the one S3 client, the bucket and the object key.
"""
