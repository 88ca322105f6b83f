package org.lens4j.core;

import ai.djl.ndarray.types.DataType;
import java.util.Objects;

/**
 * Options of {@link HookedTransformer#fromPretrained(String, LoadOptions)}: weight processing, dtype,
 * device and hub revision.
 *
 * @param processing which processing steps to apply ({@link ProcessingOptions#DEFAULT} as TransformerLens's
 *     {@code from_pretrained}, {@link ProcessingOptions#NONE} as {@code from_pretrained_no_processing})
 * @param dtype FLOAT32 or FLOAT64
 * @param device "cpu" (the only device the bundled PyTorch build supports)
 * @param revision the hub revision (branch, tag or commit), null for "main"
 */
public record LoadOptions(ProcessingOptions processing, DataType dtype, String device, String revision) {

    /** Validates the options. */
    public LoadOptions {
        Objects.requireNonNull(processing, "processing");
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT64) {
            throw new IllegalArgumentException("dtype must be float32 or float64, not " + dtype);
        }
        if (!"cpu".equals(device)) {
            throw new IllegalArgumentException("device '" + device + "' is not available: lens4j ships the CPU build of PyTorch");
        }
    }

    /** {@code from_pretrained}'s defaults: processed, float32, cpu, revision main. */
    public static LoadOptions defaults() {
        return new LoadOptions(ProcessingOptions.DEFAULT, DataType.FLOAT32, "cpu", null);
    }

    /** {@code from_pretrained_no_processing}: unprocessed, float32. */
    public static LoadOptions noProcessing() {
        return new LoadOptions(ProcessingOptions.NONE, DataType.FLOAT32, "cpu", null);
    }

    /** These options with other processing steps. */
    public LoadOptions withProcessing(ProcessingOptions p) {
        return new LoadOptions(p, dtype, device, revision);
    }

    /** These options with another dtype. */
    public LoadOptions withDtype(DataType d) {
        return new LoadOptions(processing, d, device, revision);
    }

    /** These options with a hub revision. */
    public LoadOptions withRevision(String r) {
        return new LoadOptions(processing, dtype, device, r);
    }
}
