"""A Proxmox VE API test server driven by PVE's own API schema (apidata.json)."""
