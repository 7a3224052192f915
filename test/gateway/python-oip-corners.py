"""The corners of the Open Inference Protocol a stock Python gRPC client may send, against `epara serve`'s classifier.

Messages are built from the descriptors the server's reflection gives (the protocol's grpc_service.proto, as
python-grpc-client.py builds them: no generated code). Each check's outcome is printed in one JSON object that
python-oip-corners.test.ts reads.

Usage: python3 python-oip-corners.py HOST:PORT
"""

import json
import struct
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

channel = grpc.insecure_channel(sys.argv[1])
identity = lambda b: b  # noqa: E731


def varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def fields(b):
    """The length-delimited fields of a message: (number, bytes)."""
    i = 0
    while i < len(b):
        tag, i = read_varint(b, i)
        if tag & 7 == 2:
            n, i = read_varint(b, i)
            yield tag >> 3, b[i:i + n]
            i += n
        elif tag & 7 == 0:
            _, i = read_varint(b, i)
        else:
            raise ValueError("unexpected wire type %d" % (tag & 7))


def read_varint(b, i):
    shift = result = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return result, i


def reflect(symbol):
    info = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", request_serializer=identity, response_deserializer=identity)
    (answer,) = list(info(iter([b"\x22" + varint(len(symbol)) + symbol.encode()]), timeout=30))
    for number, value in fields(answer):
        if number == 4:
            return [f for n, f in fields(value) if n == 1]
    raise RuntimeError("no file_descriptor_response")


pool = descriptor_pool.DescriptorPool()
pending = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in reflect("inference.GRPCInferenceService")]
while pending:
    ready = [f for f in pending if all(d not in {x.name for x in pending} for d in f.dependency)]
    if not ready:
        raise RuntimeError("reflection left dependencies out")
    for f in ready:
        pool.Add(f)
        pending.remove(f)
factory = message_factory.MessageFactory(pool)


def message(name):
    return factory.GetPrototype(pool.FindMessageTypeByName("inference." + name))


def method(name, request, response):
    return channel.unary_unary("/inference.GRPCInferenceService/" + name, request_serializer=request.SerializeToString, response_deserializer=response.FromString)


Request = message("ModelInferRequest")
infer = method("ModelInfer", Request, message("ModelInferResponse"))
ready = method("ModelReady", message("ModelReadyRequest"), message("ModelReadyResponse"))
metadata = method("ModelMetadata", message("ModelMetadataRequest"), message("ModelMetadataResponse"))
Parameter = message("InferParameter")

PIXELS = 3 * 48 * 192
GREY = struct.pack("<%df" % PIXELS, *([0.5] * PIXELS))
EVERY_KIND = {"b": Parameter(bool_param=True), "i": Parameter(int64_param=-3), "s": Parameter(string_param="x"), "d": Parameter(double_param=0.5), "u": Parameter(uint64_param=2**64 - 1)}


def request(version="", datatype="FP32", raw=GREY, outputs=(), parameters=None):
    r = Request(model_name="cls", model_version=version, id="corner")
    x = r.inputs.add(name="x", datatype=datatype, shape=[1, 3, 48, 192])
    r.raw_input_contents.append(raw)
    for k, v in (parameters or {}).items():
        x.parameters[k].CopyFrom(v)
    for name, ps in outputs:
        o = r.outputs.add(name=name)
        for k, v in ps.items():
            o.parameters[k].CopyFrom(v)
    return r


def outcome(call, read):
    try:
        return {"ok": True, "value": read(call())}
    except grpc.RpcError as e:
        return {"ok": False, "code": e.code().name, "details": e.details(), "epara": dict(e.trailing_metadata() or ()).get("epara-code")}


floats = lambda r: [r.outputs[0].name, r.outputs[0].datatype, list(r.outputs[0].shape), len(r.raw_output_contents[0]) // 4]  # noqa: E731


def strings(raw):
    out, i = [], 0
    while i < len(raw):
        (n,) = struct.unpack_from("<I", raw, i)
        out.append(raw[i + 4:i + 4 + n].decode())
        i += 4 + n
    return out


seen = {
    "version_1": outcome(lambda: infer(request(version="1"), timeout=60), floats),
    "version_2": outcome(lambda: infer(request(version="2"), timeout=60), floats),
    "no_outputs_listed": outcome(lambda: infer(request(), timeout=60), floats),
    "parameters_everywhere": outcome(lambda: infer(request(parameters=EVERY_KIND, outputs=[("softmax_0.tmp_0", EVERY_KIND)]), timeout=60), floats),
    "classification": outcome(
        lambda: infer(request(outputs=[("softmax_0.tmp_0", {"classification": Parameter(int64_param=1)})]), timeout=60),
        lambda r: [r.outputs[0].datatype, list(r.outputs[0].shape), strings(r.raw_output_contents[0])],
    ),
    "bytes_raw_for_fp32": outcome(lambda: infer(request(datatype="BYTES", raw=struct.pack("<I", 1) + b"a"), timeout=60), floats),
    "ready": outcome(lambda: ready(message("ModelReadyRequest")(name="cls"), timeout=30), lambda r: r.ready),
    "ready_version_1": outcome(lambda: ready(message("ModelReadyRequest")(name="cls", version="1"), timeout=30), lambda r: r.ready),
    "ready_version_2": outcome(lambda: ready(message("ModelReadyRequest")(name="cls", version="2"), timeout=30), lambda r: r.ready),
    "metadata_version_1": outcome(lambda: metadata(message("ModelMetadataRequest")(name="cls", version="1"), timeout=30), lambda r: [r.name, list(r.versions)]),
}
print(json.dumps(seen))
