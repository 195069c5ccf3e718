"""An image uploader for Traceloop that uploads nothing.

Traceloop's default ``ImageUploader`` posts base64 images found in prompts to
``{api_endpoint}/v2/traces/.../images`` (Traceloop's cloud API). The spine sends data
to the configured OTLP endpoint only, so images are replaced by a placeholder URL.
"""

from __future__ import annotations

from traceloop.sdk.images.image_uploader import ImageUploader

PLACEHOLDER_URL = "somatrace:image-not-exported"


class LocalImageUploader(ImageUploader):
    def __init__(self) -> None:
        super().__init__(base_url="", api_key="")

    def upload_base64_image(
        self, trace_id: str, span_id: str, image_name: str, image_file: str
    ) -> str:
        return PLACEHOLDER_URL

    async def aupload_base64_image(
        self, trace_id: str, span_id: str, image_name: str, image_file: str
    ) -> str:
        return PLACEHOLDER_URL
