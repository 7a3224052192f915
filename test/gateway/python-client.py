"""An outside client of the gateway written with Python's standard library only (http.client, urllib, socket).

Usage: python3 python-client.py http://127.0.0.1:8000
Prints one JSON object: for each check, what the server answered (status, EPARA code, ...). The test that runs
it (python-client.test.ts) holds the expectations.
"""
import gzip
import http.client
import json
import socket
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request

base = sys.argv[1]
url = urllib.parse.urlparse(base)
HOST, PORT = url.hostname, url.port
N = 3 * 48 * 192
out = {}


def conn():
    return http.client.HTTPConnection(HOST, PORT, timeout=30)


def answer(resp):
    body = resp.read()
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, parsed


def request(method, path, body=None, headers=None):
    c = conn()
    c.request(method, path, body=body, headers=headers or {})
    status, hdrs, raw, parsed = answer(c.getresponse())
    c.close()
    return {"status": status, "code": (parsed or {}).get("code") if isinstance(parsed, dict) else None, "error": (parsed or {}).get("error") if isinstance(parsed, dict) else None, "retryAfter": hdrs.get("retry-after"), "json": parsed, "raw": raw}


def brief(r):
    return {k: r[k] for k in ("status", "code", "error", "retryAfter")}


def raw_exchange(data, shut=True):
    """Sends raw bytes; returns the status line and the parsed JSON body of the first answer, if any."""
    s = socket.create_connection((HOST, PORT), timeout=30)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith(b"HTTP/1.") else None
    headers = {l.split(b":", 1)[0].strip().lower().decode(): l.split(b":", 1)[1].strip().decode() for l in lines[1:] if b":" in l}
    length = int(headers.get("content-length", len(body)))
    try:
        parsed = json.loads(body[:length])
    except ValueError:
        parsed = None
    return {"status": status, "code": parsed.get("code") if isinstance(parsed, dict) else None, "bodyKeys": sorted(parsed.keys()) if isinstance(parsed, dict) else None, "connection": headers.get("connection")}


# Health and metadata
out["server"] = request("GET", "/v2")["json"]
out["live"] = request("GET", "/v2/health/live")["status"]
out["ready"] = request("GET", "/v2/health/ready")["status"]
out["metadata"] = request("GET", "/v2/models/cls")["json"]

# JSON inference through urllib, nested data
grey = [[[[0.5] * 192 for _ in range(48)] for _ in range(3)]]
req = urllib.request.Request(base + "/v2/models/cls/infer", data=json.dumps({"id": "py-1", "inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 48, 192], "data": grey}]}).encode(), headers={"Content-Type": "application/json"}, method="POST")
with urllib.request.urlopen(req, timeout=30) as resp:
    body = json.loads(resp.read())
out["jsonInfer"] = {"status": resp.status, "id": body.get("id"), "outputs": [{"name": o["name"], "datatype": o["datatype"], "shape": o["shape"], "data": o["data"]} for o in body["outputs"]]}

# Binary inference (Triton's extension) through http.client: JSON header, then raw little-endian floats
header = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 48, 192], "parameters": {"binary_data_size": N * 4}}], "outputs": [{"name": "softmax_0.tmp_0", "parameters": {"binary_data": True}}]}).encode()
payload = struct.pack("<%df" % N, *([0.5] * N))
c = conn()
c.request("POST", "/v2/models/cls/infer", body=header + payload, headers={"Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"})
resp = c.getresponse()
raw = resp.read()
hlen = int(resp.getheader("Inference-Header-Content-Length"))
rhead = json.loads(raw[:hlen])
size = rhead["outputs"][0]["parameters"]["binary_data_size"]
out["binaryInfer"] = {"status": resp.status, "shape": rhead["outputs"][0]["shape"], "data": list(struct.unpack("<%df" % (size // 4), raw[hlen:hlen + size])), "trailing": len(raw) - hlen - size}
c.close()

# Refusals a standard client can send
ok_body = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 48, 192], "data": [0.5] * N}]}).encode()
out["unknownModel"] = brief(request("POST", "/v2/models/nope/infer", ok_body, {"Content-Type": "application/json"}))
out["unknownVersion"] = brief(request("GET", "/v2/models/cls/versions/9"))
out["badJson"] = brief(request("POST", "/v2/models/cls/infer", b'{"inputs": [', {"Content-Type": "application/json"}))
out["notObject"] = brief(request("POST", "/v2/models/cls/infer", b"[1, 2]", {"Content-Type": "application/json"}))
out["wrongType"] = brief(request("POST", "/v2/models/cls/infer", ok_body.replace(b'"FP32"', b'"INT32"'), {"Content-Type": "application/json"}))
out["bytesType"] = brief(request("POST", "/v2/models/cls/infer", ok_body.replace(b'"FP32"', b'"BYTES"'), {"Content-Type": "application/json"}))
out["wrongShape"] = brief(request("POST", "/v2/models/cls/infer", ok_body.replace(b"[1, 3, 48, 192]", b"[1, 3, 48, 191]"), {"Content-Type": "application/json"}))
out["shortData"] = brief(request("POST", "/v2/models/cls/infer", json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 48, 192], "data": [0.5] * (N - 1)}]}).encode(), {"Content-Type": "application/json"}))
out["infeasibleDeadline"] = brief(request("POST", "/v2/models/cls/infer", ok_body, {"Content-Type": "application/json", "epara-deadline-ms": "0.001"}))
out["badDeadline"] = brief(request("POST", "/v2/models/cls/infer", ok_body, {"Content-Type": "application/json", "epara-deadline-ms": "soon"}))
trunc_header = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 48, 192], "parameters": {"binary_data_size": N * 4}}]}).encode()
out["truncatedBinary"] = brief(request("POST", "/v2/models/cls/infer", trunc_header + payload[:-4], {"Inference-Header-Content-Length": str(len(trunc_header))}))
out["extraBinary"] = brief(request("POST", "/v2/models/cls/infer", trunc_header + payload + b"\0\0\0\0", {"Inference-Header-Content-Length": str(len(trunc_header))}))
out["headerLengthPastBody"] = brief(request("POST", "/v2/models/cls/infer", trunc_header, {"Inference-Header-Content-Length": str(len(trunc_header) + 10)}))
out["headerLengthNotNumber"] = brief(request("POST", "/v2/models/cls/infer", trunc_header, {"Inference-Header-Content-Length": "twelve"}))
out["oversized"] = brief(request("POST", "/v2/models/cls/infer", b" " * (2 * 1024 * 1024), {"Content-Type": "application/json"}))
out["badUrl"] = brief(request("GET", "/v2/models/%ZZ/ready"))
try:
    urllib.request.urlopen(urllib.request.Request(base + "/v2/models/cls/infer", data=b"{}", method="POST"), timeout=30)
    out["urllibError"] = None
except urllib.error.HTTPError as e:
    out["urllibError"] = {"status": e.code, "code": json.loads(e.read()).get("code")}

# Requests node:http cannot parse, sent on raw sockets
out["raw"] = {
    "contentLengthAndChunked": raw_exchange(b"POST /v2/models/cls/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "negativeContentLength": raw_exchange(b"POST /v2/models/cls/infer HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
    "twoContentLengths": raw_exchange(b"POST /v2/models/cls/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
    "notHttp": raw_exchange(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"),
    "bodyCutShort": raw_exchange(b"POST /v2/models/cls/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"inputs\":"),
    "hugeHeader": raw_exchange(b"GET /v2 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 * 1024) + b"\r\n\r\n"),
}

# Still serving after all of that
with urllib.request.urlopen(urllib.request.Request(base + "/v2/models/cls/infer", data=ok_body, headers={"Content-Type": "application/json"}, method="POST"), timeout=30) as resp:
    out["after"] = {"status": resp.status, "data": json.loads(resp.read())["outputs"][0]["data"]}

# Triton's statistics extension, as tritonclient's get_inference_statistics reads it (GET, JSON)
with urllib.request.urlopen(base + "/v2/models/cls/stats", timeout=30) as resp:
    out["stats"] = {"status": resp.status, "body": json.loads(resp.read())}
try:
    urllib.request.urlopen(base + "/v2/models/nope/stats", timeout=30)
except urllib.error.HTTPError as e:
    out["statsUnknown"] = {"status": e.code, "error": json.loads(e.read()).get("error")}


def h2_preface():
    """The HTTP/2 preface (prior knowledge) on the HTTP/1.1 port: the first frames the server answers."""
    s = socket.create_connection((HOST, PORT), timeout=30)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    frames = []
    while len(got) >= 9:
        length = int.from_bytes(got[0:3], "big")
        kind, payload = got[3], got[9:9 + length]
        frames.append({"type": kind, "errorCode": int.from_bytes(payload[4:8], "big") if kind == 7 else None, "debug": payload[8:].decode("utf-8", "replace") if kind == 7 else None})
        got = got[9 + length:]
    return frames


# The front door's edges: paths with repeated slashes, a numbered version, CONNECT, a compressed repository body, HTTP/2
out["edges"] = {
    "repeatedSlashes": brief(request("GET", "//v2/health/ready")),
    "emptyVersion": brief(request("GET", "/v2/models/cls/versions//ready")),
    "versionWithZero": request("GET", "/v2/models/cls/versions/01")["status"],
    "connect": raw_exchange(("CONNECT %s:%d HTTP/1.1\r\nHost: %s:%d\r\n\r\n" % (HOST, PORT, HOST, PORT)).encode()),
    "gzipIndex": request("POST", "/v2/repository/index", gzip.compress(b'{"ready": true}'), {"Content-Type": "application/json", "Content-Encoding": "gzip"})["json"],
    "http2Preface": h2_preface(),
}

print(json.dumps(out, default=lambda b: b.decode("utf-8", "replace")))
