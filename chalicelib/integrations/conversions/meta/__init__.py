"""Meta Conversions API: one server event per converting call (``action_source`` ``phone_call``)."""
