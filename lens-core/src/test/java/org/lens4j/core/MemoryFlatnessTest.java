package org.lens4j.core;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.lens4j.core.testing.Fixtures;

/** A long runWithCache loop must run in flat native memory. */
class MemoryFlatnessTest {

    /** Resident set size of this process in MiB (Linux), which includes libtorch's native allocations. */
    static double rssMiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void twoThousandCachedRunsDoNotGrowNativeMemory() throws IOException {
        String name = "gpt2_style_2l";
        try (NDManager manager = NDManager.newBaseManager();
             HookedTransformer model = HookedTransformer.fromStateDict(Fixtures.config(name, "model/config.json"),
                     Fixtures.tensors(name, "model/weights.safetensors", manager))) {
            NDArray tokens = Fixtures.tensors(name, "inputs.safetensors", manager).get("tokens");
            double warm = 0;
            double perRunMiB = 0;
            for (int i = 0; i < 2000; i++) {
                if (i == 200) {
                    System.gc();
                    warm = rssMiB();
                }
                try (CachedRun run = model.runWithCache(tokens)) {
                    if (i == 0) {
                        for (NDArray a : run.cache().asMap().values()) {
                            perRunMiB += a.size() * 4 / 1024.0 / 1024.0;
                        }
                    }
                }
            }
            System.gc();
            double growth = rssMiB() - warm;
            System.out.printf("runWithCache x2000: RSS growth after warm-up %.1f MiB (one cache is %.2f MiB)%n",
                    growth, perRunMiB);
            // A leak of even one cache per run would add 1800 x perRunMiB (about 1.7 GiB).
            assertThat(growth).isLessThan(64.0);
            assertThat(manager.getManagedArrays()).as("only the input tokens are left in the caller's manager").hasSize(1);
        }
    }
}
