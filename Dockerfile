# The job image for profiles/aws (AWS Batch), profiles/gcp (Google Batch) and profiles/azure (Azure Batch):
# Python 3.11, the ringrift package with Snakemake and the S3/GCS/Azure storage
# plugins, and Numba's compile cache baked in (docs/scale-out.md).
#   docker build -t ringrift:latest .
#   docker run --rm ringrift:latest ringrift play --games 2 --board-type square8 --num-players 2
FROM python:3.11-slim

# generic: the baked cache is valid on any x86-64 instance type (some speed
# cost). Empty (--build-arg NUMBA_CPU_NAME=): the build machine's CPU only.
ARG NUMBA_CPU_NAME=generic
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/opt/numba-cache \
    NUMBA_CPU_NAME=${NUMBA_CPU_NAME}

# Jobs unpack the submitted workflow sources into their working directory,
# /opt/ringrift. The package is installed editable from the same place, so the
# module paths (which key Numba's cache) are the same at build and run time.
WORKDIR /opt/ringrift
COPY pyproject.toml README.md ./
# ringrift/config.schema.yaml links to the workflow's schema (tuning defaults)
COPY workflow/schemas ./workflow/schemas
COPY ringrift ./ringrift
RUN pip install -e .

# Compile every jitted function once, into the image.
RUN python -m ringrift warmup && chmod -R a+rwX /opt/numba-cache

# The workflow itself, for running the image by hand or with an executor that
# does not deploy sources (aws-basic-batch).
COPY workflow ./workflow
COPY config ./config
COPY profiles ./profiles

CMD ["python", "-m", "ringrift", "--help"]
