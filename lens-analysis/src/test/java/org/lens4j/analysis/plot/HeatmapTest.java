package org.lens4j.analysis.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lens4j.analysis.patching.PatchingResult;
import org.w3c.dom.Document;

/** Heatmap files: a PNG of the asked size, a well-formed SVG with the labels, a CSV that reads back exactly. */
class HeatmapTest {

    @TempDir
    Path dir;

    private static PatchingResult layerByPos() {
        double[] v = new double[3 * 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.sin(i) * 1.5 + 1e-9 * i;
        }
        return new PatchingResult(v, new long[] {3, 4}, List.of("layer", "pos"))
                .withLabels("pos", List.of("<|BOS|>", " The", " cat,", " The"));
    }

    @Test
    void pngHasTheAskedSize() throws Exception {
        Path png = dir.resolve("map.png");
        Heatmap.of(layerByPos()).title("resid_pre").size(640, 360).showValues(true).writePng(png);
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image.getWidth()).isEqualTo(640);
        assertThat(image.getHeight()).isEqualTo(360);
    }

    @Test
    void svgIsWellFormedWithTheAskedSize() throws Exception {
        Path svg = dir.resolve("map.svg");
        Heatmap.of(layerByPos()).title("resid_pre patching").size(700, 400).writeSvg(svg);
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        // the SVG names the W3C DTD; parse offline
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        Document doc = factory.newDocumentBuilder().parse(svg.toFile());
        assertThat(doc.getDocumentElement().getTagName()).isEqualTo("svg");
        assertThat(doc.getDocumentElement().getAttribute("width")).startsWith("700");
        assertThat(doc.getDocumentElement().getAttribute("height")).startsWith("400");
        // one rectangle per cell at least
        assertThat(doc.getElementsByTagName("rect").getLength()).isGreaterThanOrEqualTo(12);
    }

    @Test
    void csvReadsBackExactly() throws Exception {
        Path csv = dir.resolve("map.csv");
        PatchingResult r = layerByPos();
        Heatmap.of(r).writeCsv(csv);
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        assertThat(lines.get(0)).isEqualTo("layer\\pos,<|BOS|>,\" The\",\" cat,\",\" The\"");
        assertThat(lines).hasSize(4);
        for (int l = 0; l < 3; l++) {
            String[] cells = lines.get(l + 1).split(",");
            assertThat(cells[0]).isEqualTo(Integer.toString(l));
            List<Double> values = new ArrayList<>();
            for (int p = 1; p < cells.length; p++) {
                values.add(Double.parseDouble(cells[p]));
            }
            assertThat(values).containsExactly(r.get(l, 0), r.get(l, 1), r.get(l, 2), r.get(l, 3));
        }
    }

    @Test
    void onlyTwoAxisResultsMakeHeatmaps() {
        PatchingResult cube = new PatchingResult(new double[8], new long[] {2, 2, 2}, List.of("a", "b", "c"));
        assertThatThrownBy(() -> Heatmap.of(cube)).hasMessageContaining("2 axes, not [a, b, c]");
        assertThat(Heatmap.of(cube.slice(1)).chart().getTitle()).isEmpty();
        assertThatThrownBy(() -> Heatmap.of(cube.slice(0)).size(10, 10)).hasMessageContaining("too small");
    }
}
