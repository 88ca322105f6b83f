package org.lens4j.core.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A weight file (safetensors, PyTorch checkpoint, shard index) is malformed or hostile: a header that
 * breaks the format, offsets outside the file, sizes that do not add up, a forbidden pickle global.
 * The message names the file and, where there is one, the tensor or entry at fault.
 */
public class MalformedWeightsException extends IOException {

    private static final long serialVersionUID = 1L;

    /** The file at fault. */
    private final transient Path file;

    /** The tensor, key or entry at fault, or {@code null} when the problem is with the file as a whole. */
    private final String entry;

    /**
     * A problem with a file as a whole.
     *
     * @param file the file at fault
     * @param problem what is wrong, as a sentence fragment
     */
    public MalformedWeightsException(Path file, String problem) {
        this(file, null, problem, null);
    }

    /**
     * A problem with one tensor or entry of a file.
     *
     * @param file the file at fault
     * @param entry the tensor name, key or archive entry at fault ({@code null}: the file as a whole)
     * @param problem what is wrong, as a sentence fragment
     */
    public MalformedWeightsException(Path file, String entry, String problem) {
        this(file, entry, problem, null);
    }

    /**
     * A problem with one tensor or entry of a file, found while handling another exception.
     *
     * @param file the file at fault
     * @param entry the tensor name, key or archive entry at fault ({@code null}: the file as a whole)
     * @param problem what is wrong, as a sentence fragment
     * @param cause the exception that revealed the problem
     */
    public MalformedWeightsException(Path file, String entry, String problem, Throwable cause) {
        super(file + (entry == null ? "" : ": '" + entry + "'") + ": " + problem, cause);
        this.file = file;
        this.entry = entry;
    }

    /**
     * Returns the file at fault.
     *
     * @return the file at fault
     */
    public Path file() {
        return file;
    }

    /**
     * Returns the tensor, key or archive entry at fault.
     *
     * @return the entry at fault, or {@code null} when the problem is with the file as a whole
     */
    public String entry() {
        return entry;
    }
}
