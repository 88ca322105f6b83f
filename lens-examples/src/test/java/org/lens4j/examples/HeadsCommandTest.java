package org.lens4j.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code lens heads} over the shipped zoo: files, and the heads the zoo was trained to have. */
class HeadsCommandTest {

    @TempDir
    Path out;

    @Test
    void reportsTheZoosInductionAndPreviousTokenHeads() throws IOException {
        int code = LensCommand.commandLine().execute("heads", "--out", out.toString(), "--batch", "4",
                "--no-progress");
        assertThat(code).isZero();
        String index = Files.readString(out.resolve("index.md"));
        assertThat(index).contains("lens4j-induction-attn-only-1l", "lens4j-induction-attn-only-2l",
                "lens4j-induction-attn-only-3l");
        for (String model : List.of("lens4j-induction-attn-only-2l", "lens4j-induction-attn-only-3l")) {
            Path dir = out.resolve(model);
            assertThat(dir.resolve("report.html")).exists();
            assertThat(dir.resolve("summary.md")).exists();
            List<String> rows = Files.readAllLines(dir.resolve("heads.csv"));
            assertThat(rows.get(0)).isEqualTo("layer,head,previous_token,duplicate_token,induction,copying");
            double bestInductionAfterLayer0 = 0;
            double bestPreviousInLayer0 = 0;
            for (String row : rows.subList(1, rows.size())) {
                String[] f = row.split(",");
                int layer = Integer.parseInt(f[0]);
                if (layer == 0) {
                    bestPreviousInLayer0 = Math.max(bestPreviousInLayer0, Double.parseDouble(f[2]));
                } else {
                    bestInductionAfterLayer0 = Math.max(bestInductionAfterLayer0, Double.parseDouble(f[4]));
                }
            }
            assertThat(bestInductionAfterLayer0).as(model + " induction head after layer 0").isGreaterThanOrEqualTo(0.5);
            assertThat(bestPreviousInLayer0).as(model + " previous-token head in layer 0").isGreaterThanOrEqualTo(0.5);
        }
        List<String> oneLayer = Files.readAllLines(out.resolve("lens4j-induction-attn-only-1l/heads.csv"));
        for (String row : oneLayer.subList(1, oneLayer.size())) {
            assertThat(Double.parseDouble(row.split(",")[4])).as("1-layer induction").isLessThanOrEqualTo(0.2);
        }
    }

    @Test
    void ioiRolesBecomeColumns() throws IOException {
        int code = LensCommand.commandLine().execute("heads", "--out", out.toString(), "--models",
                "lens4j-induction-attn-only-2l", "--detectors", "induction,ioi", "--batch", "2", "--no-progress");
        assertThat(code).isZero();
        List<String> rows = Files.readAllLines(out.resolve("lens4j-induction-attn-only-2l/heads.csv"));
        assertThat(rows.get(0)).isEqualTo("layer,head,induction,ioi_name_mover,ioi_negative_name_mover,"
                + "ioi_s_inhibition,ioi_backup_name_mover,ioi_duplicate_token,ioi_induction");
        assertThat(rows).hasSize(1 + 8);
    }

    @Test
    void unknownDetectorIsNamed() {
        StringWriter err = new StringWriter();
        CommandLine cli = LensCommand.commandLine();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("heads", "--out", out.toString(), "--models", "lens4j-induction-attn-only-1l",
                "--detectors", "induction,banana", "--no-progress");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("unknown detector 'banana'").contains("induction");
    }
}
