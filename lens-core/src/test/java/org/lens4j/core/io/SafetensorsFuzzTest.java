package org.lens4j.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random damage to a valid file: every read must end in success or an {@link IOException}, never in
 * another exception, a crash, a hang or running out of memory.
 */
class SafetensorsFuzzTest {

    private static final long SEED = 20240601L;
    private static final int CASES = 2000;

    private static final String HEADER = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
            + "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]},"
            + "\"half\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[32,38]},"
            + "\"brain\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[38,42]},"
            + "\"short\":{\"dtype\":\"I16\",\"shape\":[1,2],\"data_offsets\":[42,46]},"
            + "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[46,50]},"
            + "\"none\":{\"dtype\":\"U8\",\"shape\":[0,7],\"data_offsets\":[50,50]}}";

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void damagedFilesEndInSuccessOrIOException() throws IOException {
        byte[] data = new byte[50];
        Random random = new Random(SEED);
        for (int i = 0; i < 46; i++) {
            data[i] = (byte) random.nextInt();
        }
        data[46] = 1;
        data[49] = 1;
        byte[] valid = RawSafetensors.bytes(HEADER, data);
        Path file = dir.resolve("fuzz.safetensors");
        int failures = 0;
        int successes = 0;
        try (NDManager manager = NDManager.newBaseManager()) {
            Files.write(file, valid);
            assertThat(Safetensors.read(file, manager)).hasSize(7);
            for (int n = 0; n < CASES; n++) {
                byte[] damaged = damage(valid, random);
                Files.write(file, damaged);
                try (NDManager child = manager.newSubManager()) {
                    Safetensors.read(file, child);
                    successes++;
                } catch (IOException expected) {
                    failures++;
                } catch (Throwable unexpected) {
                    fail("case " + n + " (seed " + SEED + ") threw " + unexpected + " on bytes "
                            + Arrays.toString(damaged), unexpected);
                }
            }
        }
        // Both outcomes must be exercised, or the damage is too mild or too brutal to test anything.
        assertThat(successes).isGreaterThan(CASES / 20);
        assertThat(failures).isGreaterThan(CASES / 2);
    }

    /** One to three random edits, biased to the 8-byte length and the header where the parsing happens. */
    private static byte[] damage(byte[] valid, Random random) {
        byte[] bytes = valid.clone();
        int edits = 1 + random.nextInt(3);
        for (int e = 0; e < edits; e++) {
            int headerEnd = Math.min(bytes.length, 8 + HEADER.length());
            switch (random.nextInt(7)) {
                case 0: // flip one bit anywhere
                    if (bytes.length > 0) {
                        int at = random.nextInt(bytes.length);
                        bytes[at] ^= (byte) (1 << random.nextInt(8));
                    }
                    break;
                case 1: // a JSON-significant character inside the header
                    if (headerEnd > 8) {
                        bytes[8 + random.nextInt(headerEnd - 8)] = (byte) "{}[]\",:-0123456789e. \\u\0"
                                .charAt(random.nextInt(24));
                    }
                    break;
                case 2: // truncate
                    bytes = Arrays.copyOf(bytes, random.nextInt(bytes.length + 1));
                    break;
                case 3: // delete a run of bytes
                    if (bytes.length > 1) {
                        int from = random.nextInt(bytes.length);
                        int to = Math.min(bytes.length, from + 1 + random.nextInt(8));
                        byte[] shorter = new byte[bytes.length - (to - from)];
                        System.arraycopy(bytes, 0, shorter, 0, from);
                        System.arraycopy(bytes, to, shorter, from, bytes.length - to);
                        bytes = shorter;
                    }
                    break;
                case 4: // insert random bytes
                    int at = random.nextInt(bytes.length + 1);
                    byte[] extra = new byte[1 + random.nextInt(8)];
                    random.nextBytes(extra);
                    byte[] longer = new byte[bytes.length + extra.length];
                    System.arraycopy(bytes, 0, longer, 0, at);
                    System.arraycopy(extra, 0, longer, at, extra.length);
                    System.arraycopy(bytes, at, longer, at + extra.length, bytes.length - at);
                    bytes = longer;
                    break;
                case 5: // rewrite the header length
                    if (bytes.length >= 8) {
                        long length = random.nextBoolean() ? random.nextLong() : HEADER.length() + random.nextInt(17) - 8;
                        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
                    }
                    break;
                default: // a random digit in a number of the header, so shapes and offsets drift
                    if (headerEnd > 8) {
                        int pos = 8 + random.nextInt(headerEnd - 8);
                        if (Character.isDigit(bytes[pos])) {
                            bytes[pos] = (byte) ('0' + random.nextInt(10));
                        }
                    }
                    break;
            }
        }
        return bytes;
    }
}
