"""summarizer: FastAPI with a lifespan; tracing starts in an imported module (no findings)."""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from . import telemetry  # noqa: F401  (starts tracing at import time)


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield


app = FastAPI(title="summarizer", lifespan=lifespan)
