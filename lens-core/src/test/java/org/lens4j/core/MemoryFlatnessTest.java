package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.lens4j.core.testing.Fixtures;

/**
 * A long runWithCache loop must run in flat native memory. The loop runs in a child JVM whose heap is
 * fixed and pre-touched, so the resident set size changes only with native (libtorch) memory, not with
 * the Java heap growing into its limit.
 */
class MemoryFlatnessTest {

    private static final int WARM_UP = 300;
    private static final int ITERATIONS = 2000;

    /** Resident set size of this process in MiB (Linux), libtorch's native allocations included. */
    static double rssMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /** The loop, run in the child JVM: prints the RSS after warm-up and at the end, and the arrays left. */
    public static void main(String[] args) throws IOException {
        String name = "gpt2_style_2l";
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer model = HookedTransformer.fromStateDict(Fixtures.config(name, "model/config.json"),
                     Fixtures.tensors(name, "model/weights.safetensors", manager))) {
            NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
            double warm = 0;
            for (int i = 0; i < ITERATIONS; i++) {
                if (i == WARM_UP) {
                    warm = rssMiB();
                }
                try (CachedRun run = model.runWithCache(tokens)) {
                    run.logits().getShape();
                }
            }
            System.out.printf("warm %.1f end %.1f left %d%n", warm, rssMiB(), manager.getManagedArrays().size());
        }
    }

    @Test
    void twoThousandCachedRunsDoNotGrowNativeMemory() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch",
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "-cp", System.getProperty("java.class.path"), MemoryFlatnessTest.class.getName()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        String last = out.lines().filter(l -> l.startsWith("warm ")).findFirst().orElseThrow(() -> new AssertionError(out));
        String[] f = last.split(" ");
        double growth = Double.parseDouble(f[3]) - Double.parseDouble(f[1]);
        System.out.printf("runWithCache x%d: RSS %s -> %s MiB after %d warm-up runs, growth %.1f MiB%n", ITERATIONS,
                f[1], f[3], WARM_UP, growth);
        // One cache is about 0.5 MiB: leaking it on every run would add about 850 MiB.
        assertThat(growth).isLessThan(32.0);
        assertThat(Integer.parseInt(f[5])).as("only the input tokens are left in the caller's manager").isEqualTo(1);
    }
}
