package org.lens4j.analysis.superposition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.Shape;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class SuperpositionPlotsTest extends ManagedArraysTest {
    private static final List<String> TITLES = List.of("1 - S = 1.0", "1 - S = 0.1");
    private FeatureGeometry planar;

    @BeforeEach
    void buildSampleGeometry() {
        // Two instances, d_hidden 2, 3 features; feature 2 of instance 1 is negative.
        planar = FeatureGeometry.of(manager.create(new float[] {
            1, 0, 0.2f,
            0, 1, 0,
            0.5f, 0, -1,
            0, 0.5f, 0}, new Shape(2, 2, 3)));
    }


    @Test
    void heatmapsDrawOneCellPerMatrixEntryWithTheDivergingScale() throws Exception {
        Document w = parse(SuperpositionPlots.weightHeatmaps(planar, TITLES, "W"));
        // background + 2 instances x 2 x 3 cells
        List<Element> rects = elements(w, "rect");
        assertThat(rects.stream().filter(r -> !r.getAttribute("fill").equals("none")))
                .hasSize(1 + 12);
        // The largest |entry| is 1: W[0][0][0] = 1 is full blue, W[1][0][2] = -1 full red.
        assertThat(rects.get(1).getAttribute("fill")).isEqualTo("#2166ac");
        assertThat(rects).extracting(r -> r.getAttribute("fill")).contains("#b2182b");
        assertThat(texts(w)).contains("W", "1 - S = 1.0", "1 - S = 0.1");

        Document gram = parse(SuperpositionPlots.gramHeatmaps(planar, TITLES, "WtW"));
        assertThat(elements(gram, "rect").stream()
                .filter(r -> !r.getAttribute("fill").equals("none"))).hasSize(1 + 2 * 9);
    }

    @Test
    void arrowsPointAlongTheFeatureDirections() throws Exception {
        Document d = parse(SuperpositionPlots.featureArrows(planar, TITLES, "arrows"));
        List<Element> lines = elements(d, "line").stream()
                .filter(l -> l.getAttribute("stroke-width").equals("2.00")).toList();
        assertThat(lines).hasSize(6);
        assertThat(elements(d, "polygon")).hasSize(6);
        // Feature 1 of instance 0 is (0, 1): straight up from the panel centre.
        Element up = lines.get(1);
        assertThat(up.getAttribute("x2")).isEqualTo(up.getAttribute("x1"));
        assertThat(Double.parseDouble(up.getAttribute("y2")))
                .isLessThan(Double.parseDouble(up.getAttribute("y1")));
        // Feature 2 of instance 1 is (-1, 0): straight left.
        Element left = lines.get(5);
        assertThat(left.getAttribute("y2")).isEqualTo(left.getAttribute("y1"));
        assertThat(Double.parseDouble(left.getAttribute("x2")))
                .isLessThan(Double.parseDouble(left.getAttribute("x1")));
    }

    @Test
    void normBarsAndNeuronBarsAreColouredByInterference() throws Exception {
        Document norms = parse(SuperpositionPlots.featureNorms(planar, TITLES, "norms"));
        List<Element> bars = elements(norms, "rect").stream()
                .filter(r -> !r.getAttribute("fill").equals("none")).skip(1).toList();
        assertThat(bars).hasSize(6);
        // Instance 0: feature 1 is orthogonal to the others (interference 0); feature 2 lies
        // along feature 0, so (Ŵ_2 · W_0)² = 1.
        assertThat(bars.get(1).getAttribute("fill")).isEqualTo(SuperpositionPlots.viridis(0));
        assertThat(bars.get(2).getAttribute("fill")).isEqualTo(SuperpositionPlots.viridis(1));

        Document neurons = parse(SuperpositionPlots.neuronStackedBars(planar, TITLES, "neurons"));
        // One segment per non-zero weight: 2 + 1 per instance.
        assertThat(elements(neurons, "rect").stream()
                .filter(r -> !r.getAttribute("fill").equals("none")).skip(1)).hasSize(6);
    }

    @Test
    void dimensionalityPlotHasOneDotPerFeatureAndOneLine() throws Exception {
        Document d = parse(SuperpositionPlots.dimensionalityVsSparsity(planar,
                new double[] {1.0, 0.1}, "dims"));
        assertThat(elements(d, "circle")).hasSize(6);
        assertThat(elements(d, "polyline")).hasSize(1);
        assertThat(texts(d)).contains("1", "10", "2/5", "1/2");
    }

    @Test
    void colourScales() {
        assertThat(SuperpositionPlots.viridis(0)).isEqualTo("#440154");
        assertThat(SuperpositionPlots.viridis(1)).isEqualTo("#fde725");
        assertThat(SuperpositionPlots.viridis(7)).isEqualTo("#fde725");
        assertThat(SuperpositionPlots.diverging(0)).isEqualTo("#ffffff");
        assertThat(SuperpositionPlots.diverging(1)).isEqualTo("#2166ac");
        assertThat(SuperpositionPlots.diverging(-2)).isEqualTo("#b2182b");
        assertThat(SuperpositionPlots.diverging(0.5)).isEqualTo("#90b3d6");
    }

    @Test
    void rejectsInputsItCannotDraw() {
        FeatureGeometry threeD = FeatureGeometry.of(manager.ones(new Shape(1, 3, 2)));
        assertThatThrownBy(() -> SuperpositionPlots.featureArrows(threeD, List.of("a"), "t"))
                .hasMessageContaining("d_hidden = 2, got 3");
        assertThatThrownBy(() -> SuperpositionPlots.featureNorms(planar, List.of("a"), "t"))
                .hasMessageContaining("one panel title per instance (2), got 1");
        assertThatThrownBy(() -> SuperpositionPlots.weightHeatmaps(planar, List.of(), "t"))
                .hasMessageContaining("one panel title per instance");
        assertThatThrownBy(() -> SuperpositionPlots.dimensionalityVsSparsity(planar,
                new double[] {1.0}, "t")).hasMessageContaining("one feature probability");
        assertThatThrownBy(() -> SuperpositionPlots.dimensionalityVsSparsity(planar,
                new double[] {1.0, 0.0}, "t")).hasMessageContaining("(0, 1]");
    }

    @Test
    void escapesTitles() throws Exception {
        Document d = parse(SuperpositionPlots.featureNorms(planar, TITLES, "a < b & c"));
        assertThat(texts(d)).contains("a < b & c");
    }

    private static Document parse(String svg) throws Exception {
        assertThat(svg).startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"");
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<Element> elements(Document d, String tag) {
        NodeList nodes = d.getElementsByTagName(tag);
        return java.util.stream.IntStream.range(0, nodes.getLength())
                .mapToObj(i -> (Element) nodes.item(i)).toList();
    }

    private static List<String> texts(Document d) {
        return elements(d, "text").stream().map(Element::getTextContent).toList();
    }
}
