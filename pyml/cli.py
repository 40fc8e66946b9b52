"""The `pyml` command: `pyml info` prints build and runtime facts."""
import argparse
import sys


def cmd_info(args):
    import pyml
    i = pyml.info()
    print(f"pyml {i['version']}")
    print(f"  compiler:        {i['compiler']}")
    print(f"  SIMD level:      {i['simd']}")
    print(f"  threads:         {i['threads']}")
    print(f"  CUDA compiled:   {'yes' if i['cuda_compiled'] else 'no'}")
    if i["cuda_available"]:
        names = ", ".join(pyml.cuda.get_device_name(d) for d in range(i["cuda_devices"]))
        print(f"  GPU available:   yes ({i['cuda_devices']}: {names})")
    else:
        print("  GPU available:   no")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pyml", description="pyml: a small deep-learning library")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("info", help="print version, compiler, SIMD level, threads and CUDA status")
    args = parser.parse_args(argv)
    if args.command == "info":
        return cmd_info(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
