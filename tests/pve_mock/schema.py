"""PVE's API schema (apidata.json) as data: path lookup and parameter checks.

The checks and their messages follow PVE::JSONSchema (check_prop, check_type,
check_format, parse_property_string), so that a request real PVE rejects is
rejected here with the same parameter name and a message of the same shape.
"""

import ipaddress
import json
import re

_VMID = re.compile(r"[1-9][0-9]{2,8}")
_NODE = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?")
_STORAGE = re.compile(r"[a-z][a-z0-9\-_.]*[a-z0-9]", re.I)
_CONFIGID = re.compile(r"[a-z][a-z0-9_\-]+", re.I)
_VOLUME = re.compile(r"([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)", re.I)
_POOL = re.compile(r"[A-Za-z0-9\-_]+")
_DNS_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?"
_DNS = re.compile(r"(?:%s\.)*%s" % (_DNS_LABEL, _DNS_LABEL))
_MAC = re.compile(r"[a-f0-9][02468ace](?::[a-f0-9]{2}){5}", re.I)
_TAG = re.compile(r"[a-z0-9_][a-z0-9_\-+.]*", re.I)
_IFACE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{1,20}(?:[:.]\d+)?")
_DISKSIZE = re.compile(r"\d+(?:\.\d+)?[KMGT]?")
_TZ = re.compile(r"[\w/+\-]+")


class FormatError(Exception):
    pass


def _ip(version=None, cidr=False):
    def check(value):
        try:
            addr = ipaddress.ip_interface(value) if cidr else ipaddress.ip_address(value)
        except ValueError:
            raise FormatError("value does not look like a valid IP address") from None
        if cidr and "/" not in value:
            raise FormatError("value does not look like a valid CIDR network")
        if version and addr.version != version:
            raise FormatError("value does not look like a valid IPv%d address" % version)
    return check


def _regex(rx, message):
    def check(value):
        if not rx.fullmatch(value):
            raise FormatError(message.replace("%s", value))
    return check


def _mp_string(value):
    # "STORAGE:SIZE", a volume ID, or an absolute path without . or .. components
    if value.startswith("/"):
        if re.search(r"(?:^|/)\.\.?(?:/|$)", value):
            raise FormatError("path with '.' or '..' components is not allowed")
        return
    if not _VOLUME.fullmatch(value):
        raise FormatError("unable to parse volume ID '%s'" % value)


def _ip_ll_iface(value):
    # an IP, a link-local IPv6 may name its interface: fe80::1%eth0
    addr, _, iface = value.partition("%")
    _ip()(addr)
    if iface and not _IFACE.fullmatch(iface):
        raise FormatError("invalid network interface name '%s'" % iface)


def _dev_string(value):
    if not value.startswith("/dev/") or re.search(r"(?:^|/)\.\.?(?:/|$)", value):
        raise FormatError("not a device path below /dev: '%s'" % value)


def _ip_config(version):
    def check(value):
        if value in ("dhcp", "manual") or (version == 6 and value == "auto"):
            return
        _ip(version, cidr=True)(value)
    return check


# The formats the lxc, cluster, node and task endpoints use.  A format not
# listed here is accepted and recorded in Schema.unchecked_formats.
FORMATS = {
    "pve-vmid": _regex(_VMID, "value does not look like a valid VM ID"),
    "pve-node": _regex(_NODE, "value does not look like a valid node name"),
    "pve-storage-id": _regex(_STORAGE, "storage ID '%s' contains illegal characters"),
    "pve-configid": _regex(_CONFIGID, "invalid configuration ID '%s'"),
    "pve-volume-id": _regex(_VOLUME, "unable to parse volume ID '%s'"),
    "pve-lxc-mp-string": _mp_string,
    "pve-poolid": _regex(_POOL, "invalid pool ID '%s'"),
    "dns-name": _regex(_DNS, "value does not look like a valid DNS name"),
    "address": _ip(),
    "ip": _ip(),
    "ipv4": _ip(4),
    "ipv6": _ip(6),
    "IPorCIDR": lambda v: _ip(cidr="/" in v)(v),
    "CIDRv4": _ip(4, cidr=True),
    "CIDRv6": _ip(6, cidr=True),
    "pve-ipv4-config": _ip_config(4),
    "pve-ipv6-config": _ip_config(6),
    "mac-addr": _regex(_MAC, "value does not look like a valid unicast MAC address"),
    "pve-tag": _regex(_TAG, "invalid tag '%s'"),
    "pve-iface": _regex(_IFACE, "invalid network interface name '%s'"),
    "disk-size": _regex(_DISKSIZE, "unable to parse size '%s'"),
    "pve-ct-timezone": _regex(_TZ, "invalid time zone '%s'"),
    "pve-startup-order": _regex(re.compile(r"(?:(?:order=\d+|up=\d+|down=\d+)(?:,|$))+"),
                                "unable to parse startup options"),
    "lxc-ip-with-ll-iface": _ip_ll_iface,
    "pve-lxc-dev-string": _dev_string,
}

# "<format>-list" checks every item; PVE splits lists on these
_LIST_SPLIT = re.compile(r"[;,\0\s]+")
_LIST_ALIASES = {"lxc-ip-with-ll-iface-list": "lxc-ip-with-ll-iface", "pve-tag-list": "pve-tag", "dns-name-list": "dns-name", "pve-configid-list": "pve-configid",
                 "pve-storage-id-list": "pve-storage-id"}


def _perl_regex(pattern):
    """PVE's patterns are Perl qr// strings: (?^:...) is a plain group."""
    return re.compile(pattern.replace("(?^:", "(?:").replace("(?^i:", "(?i:"), re.S)


def _param_regex(name):
    """'net[n]' in the schema stands for net0, net1, ..."""
    if name.endswith("[n]"):
        return re.compile(re.escape(name[:-3]) + r"\d+")
    return None


class Schema:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            tree = json.load(f)
        self.paths = {}
        self.unchecked_formats = set()
        stack = list(tree)
        while stack:
            node = stack.pop()
            self.paths[node["path"]] = node
            stack.extend(node.get("children", []))
        self._templates = []
        for path in self.paths:
            parts = path.strip("/").split("/")
            rx = "/".join(r"([^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
            names = [p[1:-1] for p in parts if p.startswith("{")]
            self._templates.append((re.compile("/" + rx), path, names))
        # literal segments win over templates (like /nodes/{node}/lxc vs /nodes/{node}/{x})
        self._templates.sort(key=lambda t: len(t[2]))

    def lookup(self, path):
        """(template path, path parameters) or (None, None)."""
        for rx, tpl, names in self._templates:
            m = rx.fullmatch(path)
            if m:
                return tpl, dict(zip(names, m.groups()))
        return None, None

    def method(self, template, method):
        return self.paths[template].get("info", {}).get(method)

    def check_params(self, info, params):
        """Errors as PVE reports them: {param: message}; empty when the request is valid."""
        props = info.get("parameters", {}).get("properties", {})
        additional = info.get("parameters", {}).get("additionalProperties", 0)
        errors = {}
        for name, value in params.items():
            schema = self._prop(props, name)
            if schema is None:
                if not additional:
                    errors[name] = ("property is not defined in schema and the schema does not allow "
                                    "additional properties")
                continue
            msg = self.check_value(schema, value)
            if msg:
                errors[name] = msg
        for name, schema in props.items():
            if schema.get("optional") or name.endswith("[n]"):
                continue
            if name not in params:
                errors[name] = "property is missing and it is not optional"
        return errors

    @staticmethod
    def _prop(props, name):
        if name in props:
            return props[name]
        for key, schema in props.items():
            rx = _param_regex(key)
            if rx and rx.fullmatch(name):
                return schema
        return None

    def check_value(self, schema, value):
        """None when value fits schema, else PVE's message."""
        typ = schema.get("type", "string")
        if isinstance(value, bool):
            value = "1" if value else "0"
        if isinstance(value, (int, float)):
            value = str(value)
        if typ == "array" or isinstance(value, (list, dict)):
            if typ in ("array", "object"):
                return None
            return "type check ('%s') failed - got %s" % (typ, type(value).__name__.upper())
        if typ == "integer" and not re.fullmatch(r"[+-]?\d+", value):
            return "type check ('integer') failed - got '%s'" % value
        if typ == "number" and not re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", value):
            return "type check ('number') failed - got '%s'" % value
        if typ == "boolean" and not re.fullmatch(r"(?i:1|true|yes|on|0|false|no|off)", value):
            return "type check ('boolean') failed - got '%s'" % value
        if typ in ("integer", "number"):
            num = float(value)
            if "minimum" in schema and num < float(schema["minimum"]):
                return "value must have a minimum value of %s" % schema["minimum"]
            if "maximum" in schema and num > float(schema["maximum"]):
                return "value must have a maximum value of %s" % schema["maximum"]
        if "maxLength" in schema and len(value) > int(schema["maxLength"]):
            return "value may only be %s characters long" % schema["maxLength"]
        if "minLength" in schema and len(value) < int(schema["minLength"]):
            return "value must be at least %s characters long" % schema["minLength"]
        if "enum" in schema and value not in schema["enum"]:
            return "value '%s' does not have a value in the enumeration '%s'" % (value, ", ".join(schema["enum"]))
        if "pattern" in schema:
            try:
                if not _perl_regex(schema["pattern"]).fullmatch(value):
                    return "value does not match the regex pattern"
            except re.error:
                self.unchecked_formats.add("pattern " + schema["pattern"])
        if "format" in schema:
            try:
                self.check_format(schema["format"], value)
            except FormatError as e:
                return "invalid format - %s" % e
        return None

    def check_format(self, fmt, value):
        if isinstance(fmt, dict):
            return self._check_property_string(fmt, value)
        check = FORMATS.get(fmt)
        if check:
            return check(value)
        if fmt.endswith("-list"):
            base = _LIST_ALIASES.get(fmt, fmt[:-5])
            if base in FORMATS:
                for item in _LIST_SPLIT.split(value):
                    if item:
                        FORMATS[base](item)
                return None
        self.unchecked_formats.add(fmt)
        return None

    def _check_property_string(self, fmt, value):
        """PVE::JSONSchema::parse_property_string: k=v,k=v with an optional default_key."""
        default_key = next((k for k, s in fmt.items() if s.get("default_key")), None)
        aliases = {k: s["alias"] for k, s in fmt.items() if "alias" in s}
        seen = set()
        for part in value.split(","):
            if not part:
                continue
            if "=" in part:
                key, val = part.split("=", 1)
            elif default_key:
                key, val = default_key, part
            else:
                raise FormatError("value without key, but schema does not define a default key")
            key = aliases.get(key, key)
            if key in seen:
                raise FormatError("duplicate key in comma-separated list property: %s" % key)
            seen.add(key)
            sub = fmt.get(key)
            if sub is None:
                raise FormatError("property is not defined in schema and the schema does not allow "
                                  "additional properties (%s)" % key)
            msg = self.check_value(sub, val)
            if msg:
                raise FormatError("%s: %s" % (key, msg))
        for key, sub in fmt.items():
            if not sub.get("optional") and "alias" not in sub and key not in seen:
                raise FormatError("%s: property is missing and it is not optional" % key)
        return None
