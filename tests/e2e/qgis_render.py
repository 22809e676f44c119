"""Run by Debian's python3 with QGIS (not the project venv): add our vector tiles to QGIS the way a
GIS analyst does, render them, and print as JSON what QGIS saw and the colours it drew.

Usage: python3 qgis_render.py REQUEST_JSON, a JSON object with
  base, tileset    the server's base URL and the tileset;
  qlr              a .qlr file to load into the project (what dragging it onto QGIS does), whose
                   layers are rendered; or null to build the layer by hand from the tile and
                   style URLs, as the README's "by hand" steps do;
  wmts             (optional) a WMTS layer id to add from the server's WMTS capabilities instead,
                   as *Layer > Add WMS/WMTS Layer* does (then qlr is ignored);
  extent, size     the map extent in EPSG:3857 (xmin, ymin, xmax, ymax) and the image size;
  pixels           [x, y] image pixels whose colours to report; png: where to save the image.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsLayerDefinition,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402


def layer_by_hand(request):
    base, tileset = request["base"], request["tileset"]
    uri = f"styleUrl={base}/styles/{tileset}.json&type=xyz&url={base}/tiles/{tileset}/{{z}}/{{x}}/{{y}}.mvt&zmax=14&zmin=0"
    layer = QgsVectorTileLayer(uri, tileset)
    return layer, layer.loadDefaultStyle()[1]


def wmts_layer(request):
    """The WMTS layer as QGIS's WMS/WMTS dialog adds it: the capabilities URL, a layer, its tile matrix set."""
    uri = (
        f"crs=EPSG:3857&format=image/png&layers={request['wmts']}&styles=default&tileMatrixSet=GoogleMapsCompatible"
        f"&url={request['base']}/wmts/1.0.0/WMTSCapabilities.xml"
    )
    return QgsRasterLayer(uri, request["wmts"], "wms")


def describe_raster(layer):
    return {"name": layer.name(), "valid": layer.isValid(), "crs": layer.crs().authid()}


def describe(layer):
    """The layer's renderer styles and label styles as QGIS holds them after loading."""
    styles = [
        [s.styleName(), s.filterExpression(), s.symbol().color().name(), round(s.symbol().opacity(), 3)]
        for s in layer.renderer().styles()
    ]
    labels = [[s.labelSettings().fieldName, s.minZoomLevel()] for s in layer.labeling().styles()] if layer.labeling() else []
    return {"name": layer.name(), "valid": layer.isValid(), "source": layer.source(), "styles": styles, "labels": labels}


def render(layers, request):
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setExtent(QgsRectangle(*request["extent"]))
    settings.setOutputSize(QSize(*request["size"]))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(request["png"])
    visible = settings.visibleExtent()
    width, height = request["size"]
    labels = job.takeLabelingResults()
    return {
        "labels_drawn": sorted(label.labelText for label in labels.allLabels()) if labels else [],
        "visible_extent": [visible.xMinimum(), visible.yMinimum(), visible.xMaximum(), visible.yMaximum()],
        "colours": [image.pixelColor(x, y).name() for x, y in request["pixels"]],
        "all_colours": sorted({image.pixelColor(x, y).name() for x in range(0, width, 4) for y in range(0, height, 4)}),
    }


def main(request):
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    result = {}
    if request.get("wmts"):
        layers = [wmts_layer(request)]
        result["layers"] = [describe_raster(layer) for layer in layers]
    elif request["qlr"]:
        result["qlr_loaded"] = QgsLayerDefinition.loadLayerDefinition(request["qlr"], project, project.layerTreeRoot())[0]
        layers = list(project.mapLayers().values())
        result["layers"] = [describe(layer) for layer in layers]
    else:
        layer, result["style_loaded"] = layer_by_hand(request)
        layers = [layer]
        result["layers"] = [describe(layer) for layer in layers]
    result.update(render(layers, request))
    print(json.dumps(result))
    app.exitQgis()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
