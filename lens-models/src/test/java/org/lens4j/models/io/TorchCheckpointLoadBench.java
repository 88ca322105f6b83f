package org.lens4j.models.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.lens4j.core.io.LoadBench;
import org.lens4j.core.io.Safetensors;

/**
 * Load-time and peak-memory benchmark for {@link TorchCheckpoint#readStateDict}: converts the safetensors
 * file written by {@code SafetensorsLoadBench} into a {@code torch.save}-layout checkpoint (one stored entry
 * per tensor, as torch writes them) and reads it. Results go in {@code docs/weight-files.md}.
 *
 * <pre>
 * java -cp CP org.lens4j.models.io.TorchCheckpointLoadBench write /tmp/gpt2-small.safetensors /tmp/gpt2-small.bin
 * java -Xmx1g -cp CP org.lens4j.models.io.TorchCheckpointLoadBench read /tmp/gpt2-small.bin 7
 * </pre>
 */
public final class TorchCheckpointLoadBench {

    private TorchCheckpointLoadBench() {}

    /**
     * Runs the benchmark.
     *
     * @param args {@code write SAFETENSORS CHECKPOINT}, or {@code read CHECKPOINT [REPEATS]}
     * @throws IOException if a file cannot be written or read
     */
    public static void main(String[] args) throws IOException {
        if ("write".equals(args[0])) {
            write(Path.of(args[1]), Path.of(args[2]));
            return;
        }
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        LoadBench.run("lens4j TorchCheckpoint", Path.of(args[1]), repeats,
                (file, manager) -> TorchCheckpoint.readStateDict(file, manager).values());
    }

    private static void write(Path source, Path target) throws IOException {
        try (NDManager manager = NDManager.newBaseManager();
                OutputStream out = new BufferedOutputStream(Files.newOutputStream(target), 1 << 20);
                ZipOutputStream zip = new ZipOutputStream(out)) {
            Map<String, NDArray> tensors = Safetensors.read(source, manager);
            PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark();
            int key = 0;
            for (Map.Entry<String, NDArray> tensor : tensors.entrySet()) {
                long[] shape = tensor.getValue().getShape().getShape();
                long[] stride = new long[shape.length];
                long step = 1;
                for (int d = shape.length - 1; d >= 0; d--) {
                    stride[d] = step;
                    step *= shape[d];
                }
                pickle.str(tensor.getKey()).tensor("FloatStorage", String.valueOf(key++), step, 0, shape, stride);
            }
            zip.setMethod(ZipOutputStream.STORED);
            put(zip, "archive/data.pkl", pickle.setitems().stop().bytes());
            put(zip, "archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            key = 0;
            for (NDArray tensor : tensors.values()) {
                ByteBuffer data = tensor.toByteBuffer();
                byte[] bytes = new byte[data.remaining()];
                data.get(bytes);
                put(zip, "archive/data/" + key++, bytes);
            }
            put(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
        System.out.printf("wrote %s: %.1f MB%n", target, Files.size(target) / 1e6);
    }

    private static void put(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        ZipEntry entry = new ZipEntry(name);
        entry.setSize(bytes.length);
        entry.setCompressedSize(bytes.length);
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(bytes);
        zip.closeEntry();
    }
}
