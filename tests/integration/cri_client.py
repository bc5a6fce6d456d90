# SPDX-License-Identifier: Apache-2.0
"""The few CRI calls a kubelet makes to run a pod, spoken to containerd's socket directly.

Debian has no crictl and the suites use the standard library only, so this is gRPC in its
smallest form: HTTP/2 over the unix socket (one stream per call, headers as HPACK literals
without indexing), protobuf messages encoded by field number (runtime.v1 of k8s.io/cri-api).
A call succeeds when the response carries its message; a failed call carries none (only
trailers, which we do not decode: grpc-go Huffman-codes them), so errors name the call and
the caller reads the reason in containerd's log.
"""
import socket
import struct
import time

# --- protobuf ---------------------------------------------------------------------------------


def _varint(n):
    n &= (1 << 64) - 1  # negative int64 values take ten bytes, as protobuf encodes them
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb(*fields):
    """A message from (field number, value) pairs: str/bytes/messages (bytes from pb) are
    length-delimited, bool/int are varints; None is left out; a list repeats the field."""
    out = bytearray()
    for num, value in fields:
        for v in value if isinstance(value, list) else [value]:
            if v is None:
                continue
            if isinstance(v, (bool, int)):
                out += _varint(num << 3 | 0) + _varint(int(v))
            else:
                data = v.encode() if isinstance(v, str) else bytes(v)
                out += _varint(num << 3 | 2) + _varint(len(data)) + data
    return bytes(out)


def pb_map(num, mapping):
    """A map<string, string> field: repeated entries {1: key, 2: value}."""
    return (num, [pb((1, k), (2, v)) for k, v in mapping.items()])


def unpb(data):
    """Field number -> list of values (int for varints, bytes for length-delimited)."""
    fields, i = {}, 0

    def varint():
        nonlocal i
        n = shift = 0
        while True:
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(data):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 2:
            n = varint()
            value, i = data[i:i + n], i + n
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wire} at byte {i}")
        fields.setdefault(num, []).append(value)
    return fields


def first(fields, num, default=None):
    return fields.get(num, [default])[0]


def as_int32(n):
    return n - (1 << 64) if n >= 1 << 63 else n


# --- HTTP/2 + gRPC ----------------------------------------------------------------------------

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


class CriError(Exception):
    pass


def _hpack_int(n, prefix_bits=7):
    limit = (1 << prefix_bits) - 1
    if n < limit:
        return bytes([n])
    out, n = bytearray([limit]), n - limit
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    out.append(n)
    return bytes(out)


def _hpack_literal(name, value):
    """Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    n, v = name.encode(), value.encode()
    return b"\x00" + _hpack_int(len(n)) + n + _hpack_int(len(v)) + v


class GrpcUnix:
    """One HTTP/2 connection to a gRPC server on a unix socket; unary calls one at a time."""

    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.stream = 1
        self.sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + self._frame(SETTINGS, 0, 0, b""))
        self.buf = b""

    def close(self):
        self.sock.close()

    @staticmethod
    def _frame(ftype, flags, stream, payload):
        head = struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream)
        return head + payload

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise CriError("containerd closed the CRI connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _next_frame(self):
        head = self._read(9)
        length = int.from_bytes(head[:3], "big")
        return head[3], head[4], int.from_bytes(head[5:9], "big") & 0x7FFFFFFF, self._read(length)

    def call(self, path, message, deadline=60):
        sid, self.stream = self.stream, self.stream + 2
        headers = b"".join(_hpack_literal(k, v) for k, v in (
            (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers"), ("grpc-timeout", f"{deadline}S")))
        body = b"\x00" + struct.pack(">I", len(message)) + message
        self.sock.sendall(self._frame(HEADERS, END_HEADERS, sid, headers) +
                          self._frame(DATA, END_STREAM, sid, body))
        data = bytearray()
        end = time.monotonic() + deadline + 5
        while time.monotonic() < end:
            ftype, flags, stream, payload = self._next_frame()
            if ftype == SETTINGS and not flags & ACK:
                self.sock.sendall(self._frame(SETTINGS, ACK, 0, b""))
            elif ftype == PING and not flags & ACK:
                self.sock.sendall(self._frame(PING, ACK, 0, payload))
            elif ftype == GOAWAY:
                raise CriError(f"{path}: containerd sent GOAWAY")
            elif stream != sid:
                continue
            elif ftype == RST_STREAM:
                raise CriError(f"{path}: stream reset (code {int.from_bytes(payload, 'big')})")
            elif ftype == DATA:
                data += payload
                if payload:  # give the window back, connection and stream
                    inc = struct.pack(">I", len(payload))
                    self.sock.sendall(self._frame(WINDOW_UPDATE, 0, 0, inc) +
                                      self._frame(WINDOW_UPDATE, 0, sid, inc))
                if flags & END_STREAM:
                    break
            elif ftype in (HEADERS, CONTINUATION) and flags & END_STREAM:
                break
        else:
            raise CriError(f"{path}: no answer in {deadline} s")
        if len(data) < 5:
            raise CriError(f"{path} failed (no response message; the reason is in containerd's log)")
        n = struct.unpack(">I", bytes(data[1:5]))[0]
        return bytes(data[5:5 + n])


class CriRuntime:
    """runtime.v1.RuntimeService and ImageService calls used by the suite."""

    RUNTIME = "/runtime.v1.RuntimeService/"
    IMAGE = "/runtime.v1.ImageService/"
    CONTAINER_STATES = {0: "created", 1: "running", 2: "exited", 3: "unknown"}
    NODE = 2  # NamespaceMode
    CONTAINER = 1

    def __init__(self, sock):
        self.conn = GrpcUnix(sock)

    def close(self):
        self.conn.close()

    def image_present(self, ref):
        resp = unpb(self.conn.call(self.IMAGE + "ImageStatus", pb((1, pb((1, ref))))))
        return first(resp, 1) is not None

    def run_pod_sandbox(self, config, handler):
        resp = unpb(self.conn.call(self.RUNTIME + "RunPodSandbox", pb((1, config), (2, handler)), 120))
        return first(resp, 1).decode()

    def create_container(self, pod_id, config, sandbox_config):
        resp = unpb(self.conn.call(self.RUNTIME + "CreateContainer",
                                   pb((1, pod_id), (2, config), (3, sandbox_config)), 120))
        return first(resp, 1).decode()

    def start_container(self, cid):
        self.conn.call(self.RUNTIME + "StartContainer", pb((1, cid)), 120)

    def container_status(self, cid):
        st = unpb(first(unpb(self.conn.call(self.RUNTIME + "ContainerStatus", pb((1, cid)))), 1, b""))
        return {"state": self.CONTAINER_STATES.get(first(st, 3, 0)), "exit_code": as_int32(first(st, 7, 0)),
                "reason": first(st, 10, b"").decode(), "message": first(st, 11, b"").decode(),
                "log_path": first(st, 15, b"").decode()}

    def exec_sync(self, cid, cmd, timeout=30):
        resp = unpb(self.conn.call(self.RUNTIME + "ExecSync", pb((1, cid), (2, list(cmd)), (3, timeout)),
                                   timeout + 10))
        return first(resp, 1, b""), first(resp, 2, b""), as_int32(first(resp, 3, 0))

    def stop_container(self, cid, timeout=0):
        self.conn.call(self.RUNTIME + "StopContainer", pb((1, cid), (2, timeout)), 120)

    def remove_container(self, cid):
        self.conn.call(self.RUNTIME + "RemoveContainer", pb((1, cid)), 120)

    def stop_pod_sandbox(self, pod_id):
        self.conn.call(self.RUNTIME + "StopPodSandbox", pb((1, pod_id)), 120)

    def remove_pod_sandbox(self, pod_id):
        self.conn.call(self.RUNTIME + "RemovePodSandbox", pb((1, pod_id)), 120)

    # --- messages -----------------------------------------------------------------------------

    @classmethod
    def host_network_pod(cls, name, uid, namespace, log_directory):
        """PodSandboxConfig of a hostNetwork pod (no CNI is set up here)."""
        ns_opts = pb((1, cls.NODE))
        return pb((1, pb((1, name), (2, uid), (3, namespace), (4, 0))),
                  (3, str(log_directory)),
                  (8, pb((2, pb((1, ns_opts))))))

    @classmethod
    def container(cls, name, image, command, log_path):
        """ContainerConfig as a kubelet sends it for a hostNetwork pod: own PID namespace."""
        ns_opts = pb((1, cls.NODE), (2, cls.CONTAINER))
        return pb((1, pb((1, name), (2, 0))), (2, pb((1, image))), (3, list(command)), (11, log_path),
                  (15, pb((2, pb((3, ns_opts))))))
