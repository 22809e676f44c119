"""Run by Debian's python3 with QGIS (not the project venv): load a vector tile layer the way the
README tells a GIS analyst to, and a .qlr file, render Durham, print what QGIS saw as JSON.

Usage: python3 qgis_render.py BASE_URL TILESET QLR_PATH PNG_PATH
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsLayerDefinition,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

DURHAM = QgsRectangle(-79.02, 35.87, -78.70, 36.24)


def main(base: str, tileset: str, qlr_path: str, png_path: str) -> None:
    app = QgsApplication([], False)
    app.initQgis()
    uri = f"styleUrl={base}/styles/{tileset}.json&type=xyz&url={base}/tiles/{tileset}/{{z}}/{{x}}/{{y}}.mvt&zmax=14&zmin=0"
    layer = QgsVectorTileLayer(uri, tileset)
    style_loaded = layer.loadDefaultStyle()[1]
    project = QgsProject.instance()
    qlr_loaded = QgsLayerDefinition.loadLayerDefinition(qlr_path, project, project.layerTreeRoot())[0]
    wgs84, web = QgsCoordinateReferenceSystem("EPSG:4326"), QgsCoordinateReferenceSystem("EPSG:3857")
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(web)
    settings.setExtent(QgsCoordinateTransform(wgs84, web, project).transformBoundingBox(DURHAM))
    settings.setOutputSize(QSize(400, 460))
    settings.setBackgroundColor(QColor("white"))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(png_path)
    colours = sorted({image.pixelColor(x, y).name() for x in range(0, 400, 4) for y in range(0, 460, 4)})
    result = {
        "valid": layer.isValid(),
        "style_loaded": style_loaded,
        "styles": [[s.styleName(), s.filterExpression()] for s in layer.renderer().styles()],
        "qlr_loaded": qlr_loaded,
        "qlr_layers": [[lyr.name(), lyr.isValid(), lyr.source()] for lyr in project.mapLayers().values()],
        "colours": colours,
    }
    print(json.dumps(result))
    app.exitQgis()


if __name__ == "__main__":
    main(*sys.argv[1:5])
