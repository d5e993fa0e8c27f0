"""Uploads over a size limit, refused while they arrive rather than after they are stored."""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest


class UploadLimit(FileUploadHandler):
    """Put first in `request.upload_handlers` (before anything reads the body): a file
    beyond `limit` bytes stops the upload, the rest of the body is read and dropped (never
    written to disk), and `request.upload_over_limit` says so for the view to explain."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        request.upload_over_limit = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.request.upload_over_limit = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file
