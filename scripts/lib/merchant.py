"""A local merchant endpoint for the generic payment connector (crates/payments/README.md), for the
demo and the end-to-end test. Listens on 127.0.0.1 only, checks every request's signature and
timestamp window, and answers by amount: 4000 is declined (insufficient_funds), 9999 never
answers, any other amount is authorized; a tokenization gets a token. It prints one line per
request, naming the operation, amount and the card's last four digits only.

    python merchant.py --secret-file FILE --port-file FILE [--log FILE]
"""

import argparse
import hashlib
import hmac
import http.server
import json
import sys
import threading
import time

WINDOW_SECONDS = 300


def verify(secret: bytes, headers, body: bytes) -> bool:
    timestamp = headers.get("X-Secure-Ivr-Timestamp", "")
    signature = headers.get("X-Secure-Ivr-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        return False
    expected = "v1=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", default="-")
    args = parser.parse_args()
    with open(args.secret_file, "rb") as f:
        secret = f.read()
    out = sys.stdout if args.log == "-" else open(args.log, "a", buffering=1)
    lock = threading.Lock()
    seen = {}

    class Merchant(http.server.BaseHTTPRequestHandler):
        def answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not verify(secret, self.headers, body):
                print("refused: bad signature or timestamp", file=out)
                return self.answer(401, {"error": "signature"})
            request = json.loads(body)
            key = self.headers.get("Idempotency-Key", "")
            number = request.get("card", {}).get("number", "")
            amount = request.get("amount") or {}
            print(f"{request.get('operation')} {amount.get('value', '-')} {amount.get('currency', '')} "
                  f"card ending {number[-4:]} key {key[:14]}...", file=out)
            with lock:
                if key in seen:  # the same idempotency key: the first answer again
                    return self.answer(200, seen[key])
            if request.get("operation") == "tokenize":
                reply = {"status": "tokenized", "token": f"tok_{len(seen) + 1}"}
            elif amount.get("value") == 4000:
                reply = {"status": "declined", "decline_code": "insufficient_funds"}
            elif amount.get("value") == 9999:
                time.sleep(3600)
                return
            else:
                reply = {"status": "authorized", "payment_id": f"pay_{len(seen) + 1}"}
            with lock:
                seen[key] = reply
            self.answer(200, reply)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Merchant)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
