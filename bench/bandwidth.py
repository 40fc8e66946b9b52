"""Memory-bound cases against the machine's measured bandwidth, from the same run.

Two copy cases are the references: a copy too large for any cache (DRAM: the "measured memory
bandwidth" of the issue targets) and a copy of the pooling input (8,64,112,112), which mostly stays
in this machine's 32 MB L3 when reused call after call, as the pooling inputs do. A copy's GB/s
counts bytes read plus bytes written, like every GB/s case; the best library's copy is the ceiling.
"""
REFERENCE_MARK = "bandwidth reference"


def references(rows):
    """{case name: best GB/s over the libraries} of the reference copy cases present in rows."""
    refs = {}
    for r in rows:
        if REFERENCE_MARK in r["case"]:
            rates = [v["rate"] for v in r["libs"].values() if "rate" in v]
            if rates:
                refs[r["case"]] = max(rates)
    return refs


def annotate(rows):
    """Adds "bandwidth_fraction" {reference: pyml GB/s / reference GB/s} to every other GB/s row."""
    refs = references(rows)
    for r in rows:
        rate = r["libs"]["pyml"].get("rate")
        if r["unit"] == "GB/s" and REFERENCE_MARK not in r["case"] and rate and refs:
            r["bandwidth_fraction"] = {name: rate / ref for name, ref in refs.items()}
    return refs


def print_fractions(rows, refs):
    if not refs:
        return
    print("\npyml GB/s as a fraction of the reference copies (best library):")
    for name, ref in refs.items():
        print(f"  {name}: {ref:.1f} GB/s")
    short = [name.split(" bandwidth")[0] for name in refs]
    print(f"{'case':<44}" + "".join(f"{s:>26}" for s in short))
    for r in rows:
        if "bandwidth_fraction" in r:
            print(f"{r['case']:<44}" + "".join(f"{r['bandwidth_fraction'][n]:>26.0%}" for n in refs))
