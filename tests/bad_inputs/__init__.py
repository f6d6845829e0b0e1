"""Bad inputs written the way other tools write their files (pycocotools-style COCO, Ultralytics
``data.yaml`` and labels, Pascal VOC XML, COCO results lists), each with one thing wrong.

Every builder takes a fresh folder and returns ``(argv, needle)``: the command line that reads the
bad input and the file or flag name its error must mention.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.detect.helpers import make_image, simple_coco

VOC_XML = """<annotation>
  <filename>{name}</filename>
  <size><width>{width}</width><height>40</height><depth>3</depth></size>
  <object><name>car</name><difficult>0</difficult>
    <bndbox><xmin>{xmin}</xmin><ymin>1</ymin><xmax>20</xmax><ymax>10</ymax></bndbox>
  </object>
</annotation>
"""


def coco(root: Path, change) -> Path:
    """``simple_coco`` (3 images, cats 1 and 3) with ``change(dict)`` applied to its JSON."""
    path = simple_coco(root / "coco")
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))
    return path


def convert(src: Path, root: Path, to: str = "yolo") -> list[str]:
    """``data convert SRC DST --to yolo``: reads SRC through its format's reader."""
    return ["data", "convert", str(src), str(root / "out"), "--to", to]


def coco_case(change):
    """A COCO data set with one change, read by ``data convert``."""
    return lambda root: (convert(coco(root, change), root), "instances.json")


def coco_encoded(encoding: str):
    """A COCO file saved in ``encoding`` with a category name outside ASCII."""

    def build(root: Path):
        path = coco(root, lambda d: d["categories"][0].update(name="caf\u00e9"))
        path.write_bytes(path.read_text().replace("\\u00e9", "\u00e9").encode(encoding))
        return convert(path, root), "instances.json"

    return build


def yolo(root: Path, names: str = "[boat, buoy]", label: str = "0 0.5 0.5 0.2 0.4\n") -> Path:
    """An Ultralytics data set: images/{train,val}, labels beside, ``data.yaml`` with ``names``."""
    for split in ("train", "val"):
        make_image(root / "images" / split / "a.jpg", 40, 30)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split / "a.txt").write_text(label)
    spec = root / "data.yaml"
    spec.write_text(f"path: .\ntrain: images/train\nval: images/val\nnames: {names}\n")
    return spec


def yolo_case(needle: str = "a.txt", **kwargs):
    """A YOLO data set with bad ``names`` or label lines, read by ``data convert --to coco``."""
    return lambda root: (convert(yolo(root / "y", **kwargs), root, "coco"), needle)


def yolo_latin1_labels(root: Path):
    spec = yolo(root / "y")
    for txt in (root / "y" / "labels").rglob("*.txt"):
        txt.write_bytes("0 0.5 0.5 0.2 0.4 # \u00e9t\u00e9\n".encode("latin-1"))
    return convert(spec, root, "coco"), "a.txt"


def voc_case(width="60", xmin="1"):
    """A Pascal VOC data set (LabelImg-style XML) with one field written as a word."""

    def build(root: Path):
        voc = root / "voc"
        make_image(voc / "JPEGImages" / "a.jpg", 60, 40)
        (voc / "Annotations").mkdir(parents=True)
        xml = VOC_XML.format(name="a.jpg", width=width, xmin=xmin)
        (voc / "Annotations" / "a.xml").write_text(xml)
        return convert(voc, root), "a.xml"

    return build


GOOD_RESULT = {"image_id": 1, "category_id": 1, "bbox": [5, 6, 20, 10], "score": 0.9}


def predictions_case(task: str = "detect", change=None, gt_change=None, raw: bytes | None = None):
    """``evaluate --task T --data GT --predictions P`` with a bad results file or ground truth."""

    def build(root: Path):
        gt = coco(root, gt_change or (lambda d: None))
        result = dict(GOOD_RESULT)
        if task == "instance":
            result["segmentation"] = [[5, 6, 25, 6, 25, 16]]
        if change:
            change(result)
        preds = root / "results.json"
        preds.write_bytes(raw if raw is not None else json.dumps([result]).encode())
        argv = ["evaluate", "--task", task, "--data", str(gt), "--predictions", str(preds)]
        return argv, "instances.json" if gt_change else "results.json"

    return build


def drop(key: str):
    return lambda d: d.pop(key)


def no_image_sizes(d: dict) -> None:
    for img in d["images"]:
        img.pop("width")
        img.pop("height")
