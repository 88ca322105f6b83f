package org.lens4j.analysis.patching;

/**
 * How patching sweeps run. Immutable; start from {@link #DEFAULT}.
 *
 * @param fast batch many patched runs into one forward pass and start each at the patched layer from the
 *     cached residual stream (same numbers as one forward pass per patch, up to float rounding); false runs
 *     TransformerLens's loop of one full forward pass per patch
 * @param progress show a progress bar on stderr: {@code TRUE}, {@code FALSE}, or null for "when a
 *     console is attached or the system property {@code lens4j.progress} is true"
 * @param maxRowsPerForward the most batch rows one forward pass of the fast path may hold (the corrupted
 *     batch times the patches it carries); 0 = chosen from {@code memoryBudgetBytes}
 * @param memoryBudgetBytes the native memory one fast forward pass may use for activations and logits,
 *     when {@code maxRowsPerForward} is 0
 */
public record PatchingOptions(boolean fast, Boolean progress, int maxRowsPerForward, long memoryBudgetBytes) {

    /** Fast path, automatic progress bar, 256 MiB per forward pass. */
    public static final PatchingOptions DEFAULT = new PatchingOptions(true, null, 0, 256L << 20);

    /** Validates the options. */
    public PatchingOptions {
        if (maxRowsPerForward < 0) {
            throw new IllegalArgumentException("maxRowsPerForward must be >= 0, not " + maxRowsPerForward);
        }
        if (memoryBudgetBytes <= 0) {
            throw new IllegalArgumentException("memoryBudgetBytes must be > 0, not " + memoryBudgetBytes);
        }
    }

    /** These options with the fast path on or off. */
    public PatchingOptions withFast(boolean v) {
        return new PatchingOptions(v, progress, maxRowsPerForward, memoryBudgetBytes);
    }

    /** These options with the progress bar forced on or off. */
    public PatchingOptions withProgress(boolean v) {
        return new PatchingOptions(fast, v, maxRowsPerForward, memoryBudgetBytes);
    }

    /** These options with at most this many batch rows per forward pass. */
    public PatchingOptions withMaxRowsPerForward(int v) {
        return new PatchingOptions(fast, progress, v, memoryBudgetBytes);
    }

    /** These options with another memory budget per forward pass. */
    public PatchingOptions withMemoryBudgetBytes(long v) {
        return new PatchingOptions(fast, progress, maxRowsPerForward, v);
    }

    /** Whether to show a progress bar now. */
    boolean showProgress() {
        if (progress != null) {
            return progress;
        }
        String p = System.getProperty("lens4j.progress");
        return p != null ? Boolean.parseBoolean(p) : System.console() != null;
    }
}
