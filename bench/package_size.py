"""Deployment package size per function, as the stack packages it (infra/stack.py, infra/components/layers.py):
the function code asset (all of functions/, one asset for every function), the `shared` layer, and the
layers the function names in the wiring (the documents layer). Bundled here with the stack's own
bundlers into a temporary directory, then measured unzipped (what counts towards Lambda's 250 MB
limit) and zipped with deflate (about what is uploaded; CDK's own zip may differ slightly).

Not counted: AWS's public Powertools layer (the same release for every function, cdk.json
`oms:powertoolsVersion`) and boto3, which the Lambda Python runtime provides.

    python -m bench.package_size
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Size:
    unzipped: int
    zipped: int

    def __add__(self, other: Size) -> Size:
        return Size(self.unzipped + other.unzipped, self.zipped + other.zipped)


def measure(directory: Path) -> Size:
    """Bytes of the files under `directory`, and of a deflate zip of them."""
    buffer, unzipped = io.BytesIO(), 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            unzipped += path.stat().st_size
            archive.write(path, path.relative_to(directory))
    return Size(unzipped, len(buffer.getvalue()))


def bundle(out: Path) -> dict[str, Path]:
    """The stack's bundles under `out`, each directory as Lambda unpacks it: "code" (all of functions/,
    at /var/task), "shared" and the optional layers (their python/ under /opt/python)."""
    from infra.components.layers import (
        DOCUMENT_DISTRIBUTIONS,
        CopyCompiledSource,
        CopyDistributions,
        function_code_bundler,
        shared_layer_bundler,
    )
    from infra.wiring import DOCUMENTS_LAYER

    bundlers: dict[str, CopyCompiledSource | CopyDistributions] = {
        "code": function_code_bundler(ROOT / "functions"), "shared": shared_layer_bundler(ROOT / "shared"),
        DOCUMENTS_LAYER: CopyDistributions(DOCUMENT_DISTRIBUTIONS)}
    bundles = {}
    for name, bundler in bundlers.items():
        bundles[name] = out / name
        bundles[name].mkdir()
        bundler.try_bundle(str(bundles[name]), image=None)  # type: ignore[arg-type]  # local bundlers never read it
    return bundles


def package_sizes(functions, bundles: dict[str, Path] | None = None) -> dict[str, dict[str, Size]]:
    """Per function name: {"code": ..., "shared": ..., <optional layer>: ...}, of `bundles` (else bundled here)."""
    with tempfile.TemporaryDirectory(prefix="oms-package-") as tmp:
        sizes = {name: measure(path) for name, path in (bundles or bundle(Path(tmp))).items()}
    return {fn.name: {part: sizes[part] for part in ("code", "shared", *fn.layers)} for fn in functions}


def total(parts: dict[str, Size]) -> Size:
    return sum(parts.values(), Size(0, 0))


def main() -> None:
    from bench.common import table
    from infra import wiring

    sizes = package_sizes(wiring.FUNCTIONS)
    rows = [(name, *(f"{s.unzipped / 1e6:.2f} / {s.zipped / 1e6:.2f}" for s in (*parts.values(),)),
             f"{total(parts).unzipped / 1e6:.2f}", f"{total(parts).zipped / 1e6:.2f}")
            for name, parts in sizes.items()]
    width = max(len(r) for r in rows)
    rows = [r[:-2] + ("",) * (width - len(r)) + r[-2:] for r in rows]
    headers = ["function", "code MB (unzipped / zip)", "shared layer", *(["other layers"] * (width - 5)),
               "total MB", "total zip MB"]
    print(table(rows, headers))
    print("\nNot counted: AWS's Powertools layer and the runtime's boto3.")


if __name__ == "__main__":
    main()
