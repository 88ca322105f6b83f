package org.lens4j.models.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test helper: writes a state dict the way {@code torch.save(model.state_dict(), f)} does: a zip with
 * {@code archive/data.pkl} holding an {@code OrderedDict} of {@code _rebuild_tensor_v2} calls, one storage per
 * tensor under {@code archive/data/<key>}.
 */
public final class TorchSave {

    private TorchSave() {}

    /**
     * Writes float32, float64, int64 and boolean arrays as a PyTorch zip checkpoint.
     *
     * @param file the checkpoint to write
     * @param stateDict the tensors by name, written in map order
     * @return the file
     * @throws IOException if the file cannot be written
     */
    public static Path write(Path file, Map<String, NDArray> stateDict) throws IOException {
        PickleBytes pickle = PickleBytes.protocol2().orderedDict().mark();
        Map<String, byte[]> storages = new LinkedHashMap<>();
        int key = 0;
        for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
            NDArray a = e.getValue();
            String storageKey = String.valueOf(key++);
            Shape shape = a.getShape();
            long[] stride = new long[shape.dimension()];
            long step = 1;
            for (int i = shape.dimension() - 1; i >= 0; i--) {
                stride[i] = step;
                step *= shape.get(i);
            }
            pickle.str(e.getKey()).tensor(storageClass(a.getDataType(), e.getKey()), storageKey, shape.size(), 0,
                    shape.getShape(), stride);
            ByteBuffer data = a.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            storages.put(storageKey, bytes);
        }
        return TorchFiles.write(file, pickle.setitems().stop().bytes(), storages);
    }

    private static String storageClass(DataType type, String name) {
        return switch (type) {
            case FLOAT32 -> "FloatStorage";
            case FLOAT64 -> "DoubleStorage";
            case INT64 -> "LongStorage";
            case BOOLEAN -> "BoolStorage";
            default -> throw new IllegalArgumentException(name + ": no storage class for " + type);
        };
    }
}
