"""Python's grpcio (Debian's python3-grpcio and python3-protobuf) against `epara serve`'s gRPC port.

No generated code and no .proto file: like grpcurl, the script asks the server's reflection service for the
descriptors of inference.GRPCInferenceService and builds its messages from them. Each check's outcome is printed
as one JSON object that python-grpc-client.test.ts reads.

Usage: python3 python-grpc-client.py HOST:PORT
"""

import json
import queue
import struct
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ADDRESS = sys.argv[1]
channel = grpc.insecure_channel(ADDRESS)
identity = lambda b: b  # noqa: E731


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(b, i):
    shift = result = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return result, i


def fields(b):
    """The length-delimited fields of a message: (number, bytes)."""
    i = 0
    while i < len(b):
        tag, i = read_varint(b, i)
        wire = tag & 7
        if wire == 2:
            n, i = read_varint(b, i)
            yield tag >> 3, b[i:i + n]
            i += n
        elif wire == 0:
            _, i = read_varint(b, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("unexpected wire type %d" % wire)


def reflect(symbol):
    """The serialized FileDescriptorProtos of the file declaring `symbol` and its dependencies."""
    info = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", request_serializer=identity, response_deserializer=identity)
    request = b"\x22" + varint(len(symbol)) + symbol.encode()
    (answer,) = list(info(iter([request]), timeout=30))
    for number, value in fields(answer):
        if number == 4:  # file_descriptor_response
            return [f for n, f in fields(value) if n == 1]
    raise RuntimeError("no file_descriptor_response: %r" % answer)


pool = descriptor_pool.DescriptorPool()
pending = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in reflect("inference.GRPCInferenceService")]
while pending:  # each file once its dependencies are in
    progress = False
    for f in list(pending):
        if all(d not in {x.name for x in pending} for d in f.dependency):
            pool.Add(f)
            pending.remove(f)
            progress = True
    if not progress:
        raise RuntimeError("reflection left dependencies out: %s" % [f.name for f in pending])

factory = message_factory.MessageFactory(pool)


def message(name):
    return factory.GetPrototype(pool.FindMessageTypeByName("inference." + name))


ModelInferRequest = message("ModelInferRequest")
ModelInferResponse = message("ModelInferResponse")


def method(name, request, response, kind="unary_unary"):
    return getattr(channel, kind)("/inference.GRPCInferenceService/" + name, request_serializer=request.SerializeToString, response_deserializer=response.FromString)


infer = method("ModelInfer", ModelInferRequest, ModelInferResponse)
stream_infer = method("ModelStreamInfer", ModelInferRequest, message("ModelStreamInferResponse"), "stream_stream")
metadata = method("ModelMetadata", message("ModelMetadataRequest"), message("ModelMetadataResponse"))
index = method("RepositoryIndex", message("RepositoryIndexRequest"), message("RepositoryIndexResponse"))

PIXELS = 3 * 48 * 192
GREY = struct.pack("<%df" % PIXELS, *([0.5] * PIXELS))


def request(**kw):
    r = ModelInferRequest(model_name="cls", id=kw.pop("id", "py"))
    x = r.inputs.add(name="x", datatype="FP32", shape=kw.pop("shape", [1, 3, 48, 192]))
    if kw.pop("raw", True):
        r.raw_input_contents.append(kw.pop("bytes", GREY))
    if kw.pop("typed", False):
        x.contents.fp32_contents.extend([0.5] * PIXELS)
    for k, v in kw.pop("parameters", {}).items():
        r.parameters[k].CopyFrom(v)
    extra = kw.pop("extra_raw", 0)
    for _ in range(extra):
        r.raw_input_contents.append(GREY)
    return r


def outcome(call):
    """`ok` and what the answer holds, or the status code's name, its details and EPARA's code."""
    try:
        r = call()
        return {"ok": True, "value": r}
    except grpc.RpcError as e:
        trailing = dict(e.trailing_metadata() or ())
        return {"ok": False, "code": e.code().name, "details": e.details(), "epara": trailing.get("epara-code")}


def probabilities(r):
    return list(struct.unpack("<%df" % (len(r.raw_output_contents[0]) // 4), r.raw_output_contents[0]))


seen = {}

raw = outcome(lambda: infer(request(), timeout=60))
seen["raw"] = {"ok": raw["ok"], "id": raw["value"].id, "outputs": [(o.name, o.datatype, list(o.shape)) for o in raw["value"].outputs], "p": probabilities(raw["value"])} if raw["ok"] else raw
typed = outcome(lambda: infer(request(raw=False, typed=True), timeout=60))
seen["typed"] = {"ok": True, "p": probabilities(typed["value"])} if typed["ok"] else typed
for name, kw in {"both": {"typed": True}, "neither": {"raw": False}, "more_raw_than_inputs": {"extra_raw": 1}, "short_raw": {"bytes": GREY[:-4]}}.items():
    o = outcome(lambda: infer(request(**kw), timeout=60))
    seen[name] = o if not o["ok"] else {"ok": True}

# Parameters of every kind come back in the form they were sent, 64-bit values exact.
P = message("InferParameter")
params = {"u": P(uint64_param=18446744073709551615), "i": P(int64_param=-9223372036854775807), "d": P(double_param=2.0), "s": P(string_param="x"), "b": P(bool_param=True)}
echo = outcome(lambda: infer(request(parameters=params), timeout=60))
seen["parameters"] = {k: json.loads(json.dumps({"kind": v.WhichOneof("parameter_choice"), "value": str(getattr(v, v.WhichOneof("parameter_choice")))})) for k, v in echo["value"].parameters.items()} if echo["ok"] else echo

# A deadline the server cannot meet: refused at once, or ended at the deadline; never a hang.
seen["deadline"] = outcome(lambda: infer(request(), timeout=0.001))
seen["deadline"].pop("value", None)

# A call cancelled by the client: grpcio reports CANCELLED, and the server goes on serving.
future = infer.future(request(), timeout=60)
future.cancel()
seen["cancelled"] = {"cancelled": future.cancelled()}
seen["after_cancel"] = outcome(lambda: infer(request(id="after"), timeout=60))["ok"]

# ModelStreamInfer: three requests, the second for an unknown model; each answered, matched by id.
bad = request(id="s2")
bad.model_name = "nope"
answers = list(stream_infer(iter([request(id="s1"), bad, request(id="s3")]), timeout=60))
seen["stream"] = sorted([a.infer_response.id, a.error_message, a.infer_response.parameters["triton_final_response"].bool_param] for a in answers)

# A stream cancelled by the client mid-inference: after its first answer, with the others sent and running. The
# stream ends CANCELLED, and the server goes on serving.
sent = queue.Queue()


def requests():
    while True:
        r = sent.get()
        if r is None:
            return
        yield r


for i in range(4):
    sent.put(request(id="c%d" % i))
call = stream_infer(requests(), timeout=60)
first = next(call)
call.cancel()
sent.put(None)
try:
    list(call)
    ended = "OK"
except grpc.RpcError as e:
    ended = e.code().name
seen["stream_cancelled"] = {"first": first.infer_response.id, "ended": ended, "after": outcome(lambda: infer(request(id="after-stream"), timeout=60))["ok"]}

# Metadata, and the repository named after the server (or another name: NOT_FOUND).
m = outcome(lambda: metadata(message("ModelMetadataRequest")(name="cls"), timeout=30))
seen["metadata"] = {"name": m["value"].name, "inputs": [(t.name, t.datatype, list(t.shape)) for t in m["value"].inputs]} if m["ok"] else m
named = outcome(lambda: index(message("RepositoryIndexRequest")(repository_name="epara"), timeout=30))
seen["index_named"] = [(x.name, x.version, x.state) for x in named["value"].models] if named["ok"] else named
other = outcome(lambda: index(message("RepositoryIndexRequest")(repository_name="other"), timeout=30))
seen["index_other"] = other

print(json.dumps(seen))
