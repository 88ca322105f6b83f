package org.lens4j.models.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random damage to a valid checkpoint, both to the zip bytes and to the pickle inside a well-formed
 * zip: every read must end in success or an {@link IOException}, never in another exception, a crash, a
 * hang or running out of memory.
 */
class TorchCheckpointFuzzTest {

    private static final long SEED = 1234567L;
    private static final int CASES = 1200;

    @TempDir
    Path dir;

    private static byte[] pickle() {
        return PickleBytes.protocol2().emptyDict().mark()
                .str("epoch").integer(7)
                .str("state_dict").orderedDict().mark()
                .str("w").tensor("FloatStorage", "0", 12, 0, new long[] {3, 4}, new long[] {4, 1})
                .str("w_t").tensor("FloatStorage", "0", 12, 1, new long[] {3, 2}, new long[] {1, 5})
                .str("mask").tensor("BoolStorage", "1", 4, 0, new long[] {4}, new long[] {1})
                .str("half").tensor("BFloat16Storage", "2", 2, 0, new long[] {}, new long[] {})
                .setitems()
                .setitems().stop().bytes();
    }

    private static Map<String, byte[]> storages(Random random) {
        Map<String, byte[]> storages = new LinkedHashMap<>();
        byte[] floats = new byte[48];
        random.nextBytes(floats);
        storages.put("0", floats);
        storages.put("1", new byte[] {1, 0, 0, 1});
        storages.put("2", new byte[] {(byte) 0x80, 0x3F, 0, 0});
        return storages;
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void damagedCheckpointsEndInSuccessOrIOException() throws IOException {
        Random random = new Random(SEED);
        byte[] pickle = pickle();
        Map<String, byte[]> storages = storages(random);
        byte[] zip = ZipBytes.write(TorchFiles.entries(pickle, storages));
        Path file = dir.resolve("fuzz.pt");
        int successes = 0;
        int failures = 0;
        try (NDManager manager = NDManager.newBaseManager()) {
            Files.write(file, zip);
            assertThat(TorchCheckpoint.readStateDict(file, manager)).hasSize(4);
            for (int n = 0; n < CASES; n++) {
                // Half the cases damage the container, half the pickle inside an intact container.
                byte[] damaged = n % 2 == 0 ? damage(zip, random)
                        : ZipBytes.write(TorchFiles.entries(damage(pickle, random), storages));
                Files.write(file, damaged);
                try (NDManager child = manager.newSubManager()) {
                    if (n % 4 < 2) {
                        TorchCheckpoint.readStateDict(file, child);
                    } else {
                        TorchCheckpoint.read(file, child);
                    }
                    successes++;
                } catch (IOException expected) {
                    failures++;
                } catch (Throwable unexpected) {
                    fail("case " + n + " (seed " + SEED + ") threw " + unexpected + " on bytes "
                            + Arrays.toString(damaged), unexpected);
                }
            }
        }
        assertThat(successes).isGreaterThan(CASES / 50);
        assertThat(failures).isGreaterThan(CASES / 2);
    }

    /** One to three random edits: bit flips, byte overwrites, truncation, deletion, insertion, int rewrites. */
    private static byte[] damage(byte[] valid, Random random) {
        byte[] bytes = valid.clone();
        int edits = 1 + random.nextInt(3);
        for (int e = 0; e < edits && bytes.length > 0; e++) {
            int at = random.nextInt(bytes.length);
            switch (random.nextInt(6)) {
                case 0:
                    bytes[at] ^= (byte) (1 << random.nextInt(8));
                    break;
                case 1:
                    bytes[at] = (byte) random.nextInt();
                    break;
                case 2:
                    bytes = Arrays.copyOf(bytes, at);
                    break;
                case 3:
                    int to = Math.min(bytes.length, at + 1 + random.nextInt(8));
                    byte[] shorter = new byte[bytes.length - (to - at)];
                    System.arraycopy(bytes, 0, shorter, 0, at);
                    System.arraycopy(bytes, to, shorter, at, bytes.length - to);
                    bytes = shorter;
                    break;
                case 4:
                    byte[] extra = new byte[1 + random.nextInt(8)];
                    random.nextBytes(extra);
                    byte[] longer = new byte[bytes.length + extra.length];
                    System.arraycopy(bytes, 0, longer, 0, at);
                    System.arraycopy(extra, 0, longer, at, extra.length);
                    System.arraycopy(bytes, at, longer, at + extra.length, bytes.length - at);
                    bytes = longer;
                    break;
                default: // a plausible-looking 4-byte length or count
                    if (at + 4 <= bytes.length) {
                        int value = random.nextBoolean() ? random.nextInt() : random.nextInt(100_000);
                        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
                    }
                    break;
            }
        }
        return bytes;
    }
}
