#!/usr/bin/env python3
"""bench-v2.py SRC_OCI DONOR_OCI OUT_OCI: writes OUT_OCI, the first image of
SRC_OCI with its LAST layer replaced by the first layer of DONOR_OCI (blob,
diff_id and history kept consistent), so that `make bench` can time a
rescan where exactly one layer changed. Blobs are hard-linked, not copied."""
import hashlib, json, os, shutil, sys

src, donor, out = sys.argv[1:4]

def blob(d, dg):
    return os.path.join(d, "blobs", *dg.split(":"))

def first_manifest(d):
    m = json.load(open(os.path.join(d, "index.json")))["manifests"][0]
    man = json.load(open(blob(d, m["digest"])))
    if "manifests" in man:
        man = json.load(open(blob(d, man["manifests"][0]["digest"])))
    return man

man, dman = first_manifest(src), first_manifest(donor)
cfg = json.load(open(blob(src, man["config"]["digest"])))
dcfg = json.load(open(blob(donor, dman["config"]["digest"])))
shutil.rmtree(out, ignore_errors=True)
os.makedirs(os.path.join(out, "blobs", "sha256"))

def put(b):
    dg = "sha256:" + hashlib.sha256(b).hexdigest()
    open(blob(out, dg), "wb").write(b)
    return dg, len(b)

def link(d, dg):
    if not os.path.exists(blob(out, dg)):
        try:
            os.link(blob(d, dg), blob(out, dg))
        except OSError:  # another file system
            shutil.copyfile(blob(d, dg), blob(out, dg))

for l in man["layers"][:-1]:
    link(src, l["digest"])
link(donor, dman["layers"][0]["digest"])
man["layers"][-1] = dman["layers"][0]
cfg["rootfs"]["diff_ids"][-1] = dcfg["rootfs"]["diff_ids"][0]
cdg, csz = put(json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode())
man["config"]["digest"], man["config"]["size"] = cdg, csz
mdg, msz = put(json.dumps(man, sort_keys=True, separators=(",", ":")).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": man.get("mediaType", "application/vnd.oci.image.manifest.v1+json"), "digest": mdg, "size": msz}]}, open(os.path.join(out, "index.json"), "w"))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
