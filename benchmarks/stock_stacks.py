"""The stock SageMaker serving stacks, built as AWS builds them, on our model (benchmark only).

- `mms`: Multi Model Server (Java front end, Python backend workers) with the `sagemaker-inference`
  toolkit, as the framework containers built on it run: the toolkit's own MMS configuration
  (`model_server._generate_mms_config_properties`: workers, timeout, max request size from the
  SAGEMAKER_* variables), its `DefaultHandlerService` and `Transformer`, and its default input and
  output functions, except for CSV, which is parsed and written as the SageMaker XGBoost
  container does (`csv_to_dmatrix`; faster than the toolkit's `np.genfromtxt`). The model
  functions load the XGBoost booster and predict a DMatrix (`stock_mms_support.py`).
- `gevent`: nginx in front of gunicorn with gevent workers and a Flask app, the stack of the
  scikit-learn and XGBoost framework containers (`sagemaker-containers`' `_server.start`: nginx
  proxies port 8080 to gunicorn's unix socket; `gunicorn -k gevent --worker-connections 1000*N
  -w N`); the same decode, predict and encode functions.

Both score prepared feature rows (the encoded matrix our transform writes for training, as the
built-in XGBoost model expects), not raw rows: the stock containers have no raw-to-features step.

    python -m benchmarks.stock_stacks {mms,gevent} --model-dir DIR --port N --workers 2 --tmp DIR
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from benchmarks.stock_mms_support import XGBoostInferenceHandler, load_booster

# sagemaker-containers' etc/nginx.conf.template, with its two placeholders filled in.
NGINX_CONFIG = """worker_processes auto;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
worker_rlimit_nofile 4096;
events {{ worker_connections 2048; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log {tmp}/nginx-access.log combined;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  upstream gunicorn {{ server unix:{tmp}/gunicorn.sock; }}
  server {{
    listen 127.0.0.1:{port} deferred;
    client_max_body_size 0;
    keepalive_timeout 3;
    location ~ ^/(ping|invocations|execution-parameters) {{
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Host $http_host;
      proxy_redirect off;
      proxy_read_timeout {timeout}s;
      proxy_pass http://gunicorn;
    }}
    location / {{ return 404 "{{}}"; }}
  }}
}}
"""


def create_flask_app():
    """The gevent stack's worker: sagemaker-containers' Worker routes, toolkit codecs."""
    import flask

    handler = XGBoostInferenceHandler()
    model = load_booster(os.environ["BENCH_MODEL_DIR"])
    app = flask.Flask("stock-gevent")

    @app.route("/ping")
    def ping():
        return flask.Response(status=200)

    @app.route("/invocations", methods=["POST"])
    def invocations():
        content_type = flask.request.headers.get("Content-Type", "application/json")
        default = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
        accept = flask.request.headers.get("Accept") or default
        accept = default if accept == "*/*" else accept
        try:
            data = handler.default_input_fn(flask.request.get_data(), content_type)
            prediction = handler.default_predict_fn(data, model)
            body = handler.default_output_fn(prediction, accept)
        except Exception as exc:  # the toolkit's Transformer answers every failure this way
            return flask.Response(str(exc), status=500)
        return flask.Response(body, status=200, mimetype=accept)

    return app


def run_gevent(args: argparse.Namespace) -> int:
    tmp = Path(args.tmp)
    (tmp / "nginx.conf").write_text(
        NGINX_CONFIG.format(tmp=tmp, port=args.port, timeout=args.timeout)
    )
    env = os.environ | {"BENCH_MODEL_DIR": str(args.model_dir)}
    nginx = subprocess.Popen(["nginx", "-c", str(tmp / "nginx.conf"), "-p", str(tmp)])
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--timeout", str(args.timeout), "-k", "gevent",
         "-b", f"unix:{tmp}/gunicorn.sock", "--worker-connections", str(1000 * args.workers),
         "-w", str(args.workers), "--log-level", "warning",
         "benchmarks.stock_stacks:create_flask_app()"],
        env=env,
    )
    return _supervise({nginx: signal.SIGQUIT, gunicorn: signal.SIGTERM})


def run_mms(args: argparse.Namespace) -> int:
    tmp = Path(args.tmp)
    os.environ.update({
        "SAGEMAKER_MODEL_SERVER_WORKERS": str(args.workers),
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": str(args.timeout),
        "SAGEMAKER_BIND_TO_PORT": str(args.port),
        "BENCH_MODEL_DIR": str(args.model_dir),
    })
    from sagemaker_inference import environment, model_server

    properties = model_server._generate_mms_config_properties(
        environment.Environment(), "benchmarks.stock_mms_handler"
    ).replace("0.0.0.0", "127.0.0.1")
    # The toolkit binds inference and management to the same port; MMS needs two.
    properties += f"management_address=http://127.0.0.1:{args.port + 1}\n"
    (tmp / "mms.properties").write_text(properties)
    mms = subprocess.Popen(
        ["multi-model-server", "--start", "--foreground", "--model-store", "/",
         "--mms-config", str(tmp / "mms.properties"),
         "--log-config", model_server.DEFAULT_MMS_LOG_FILE,
         "--models", f"model={args.model_dir}"],
        cwd=tmp,
        env=os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )
    return _supervise({mms: signal.SIGTERM})


def _supervise(children: dict[subprocess.Popen, int]) -> int:
    """Like the toolkits' own launchers: forward SIGTERM, exit when any child exits."""

    def stop(*_: object) -> None:
        for child, signum in children.items():
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    pids = {child.pid for child in children}
    while True:
        pid, _ = os.wait()
        if pid in pids:
            break
    stop()
    for child in children:
        child.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", choices=("mms", "gevent"))
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--tmp", type=Path, required=True)
    args = parser.parse_args(argv)
    args.tmp.mkdir(parents=True, exist_ok=True)
    return run_mms(args) if args.stack == "mms" else run_gevent(args)


if __name__ == "__main__":
    sys.exit(main())
