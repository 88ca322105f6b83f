package org.lens4j.analysis.report;

import org.lens4j.analysis.heads.LayerHeadScores;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeadReportWriterTest {

    @TempDir
    Path dir;

    private static HeadScoreTable table() {
        return new HeadScoreTable("toy <model>", 2, 3)
                .put("induction", new double[][] {{0.1, 0.05, 0.0}, {0.9, 0.2, Double.NaN}})
                .put("previous_token", new double[][] {{0.8, 0.1, 0.3}, {0.0, 0.4, 0.1}});
    }

    @Test
    void topHeadsAreSortedAndSkipUnscoredHeads() {
        List<LayerHeadScores.Entry> top = table().top("induction", 10);
        assertThat(top).extracting(LayerHeadScores.Entry::label)
                .containsExactly("L1H0", "L1H1", "L0H0", "L0H1", "L0H2");
        assertThatThrownBy(() -> table().top("copying", 1)).hasMessageContaining("copying");
        assertThatThrownBy(() -> table().put("x", new double[][] {{1, 2, 3}})).hasMessageContaining("1 layers");
    }

    @Test
    void writesCsvMarkdownAndSelfContainedHtml() throws IOException {
        AttentionExample example = new AttentionExample(List.of("<bos>", "a", "b"),
                Map.of("L1H0", new double[][] {{1, 0, 0}, {0.5, 0.5, 0}, {0.2, 0.3, 0.5}}));
        List<Path> files = HeadReportWriter.write(table(), example, dir);
        assertThat(files).extracting(p -> p.getFileName().toString())
                .containsExactly("heads.csv", "summary.md", "report.html");
        List<String> csv = Files.readAllLines(dir.resolve("heads.csv"));
        assertThat(csv).hasSize(1 + 6);
        assertThat(csv.get(0)).isEqualTo("layer,head,induction,previous_token");
        assertThat(csv.get(4)).isEqualTo("1,0,0.900000,0.000000");
        assertThat(csv.get(6)).isEqualTo("1,2,,0.100000");
        String md = Files.readString(dir.resolve("summary.md"));
        assertThat(md).contains("| induction | L1H0 (0.900), L1H1 (0.200)");
        assertThat(md).contains("| previous_token | L0H0 (0.800), L1H1 (0.400)");
        String html = Files.readString(dir.resolve("report.html"));
        assertThat(html).contains("toy &lt;model&gt;").contains("<svg").contains("L1H0: 0.9000")
                .contains("L1H2: n/a").contains("0 &#8594; 0: 1.000");
        assertThat(html).doesNotContain("<script").doesNotContain("http://cdn").doesNotContain("https://");
    }

    @Test
    void colourScaleRunsFromWhiteToDarkBlue() {
        assertThat(HeadReportWriter.colour(0)).isEqualTo("#ffffff");
        assertThat(HeadReportWriter.colour(1)).isEqualTo("#08306b");
        assertThat(HeadReportWriter.colour(7)).isEqualTo("#08306b");
    }
}
