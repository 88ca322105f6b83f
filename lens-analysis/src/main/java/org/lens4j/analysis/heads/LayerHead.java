package org.lens4j.analysis.heads;

/**
 * One attention head, by layer and head index.
 *
 * @param layer the block index, from 0
 * @param head the head index within the layer, from 0
 */
public record LayerHead(int layer, int head) {

    /** Checks that both indices are non-negative. */
    public LayerHead {
        if (layer < 0 || head < 0) {
            throw new IllegalArgumentException("a head needs non-negative indices, not layer " + layer + " head " + head);
        }
    }

    /** TransformerLens's label, {@code L{layer}H{head}} (as in {@code all_head_labels}). */
    public String label() {
        return "L" + layer + "H" + head;
    }

    @Override
    public String toString() {
        return label();
    }
}
