"""Yandex Metrica offline calls: converting calls uploaded in batches as a CSV (``upload_calls``)."""
