package org.lens4j.analysis.superposition;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Sets PyTorch's intra-op thread count for the calling thread while open and restores it on
 * close. Toy models are far too small to gain from intra-op threads: on a loaded 2-core machine
 * two threads made training about 30 times slower than one (docs/superposition.md).
 */
final class IntraOpThreads implements AutoCloseable {
    private final int previous;

    IntraOpThreads(int threads) {
        Engine.getEngine("PyTorch"); // loads the native library JniUtils calls into
        previous = JniUtils.getNumThreads();
        if (previous != threads) {
            JniUtils.setNumThreads(threads);
        }
    }

    @Override
    public void close() {
        if (JniUtils.getNumThreads() != previous) {
            JniUtils.setNumThreads(previous);
        }
    }
}
