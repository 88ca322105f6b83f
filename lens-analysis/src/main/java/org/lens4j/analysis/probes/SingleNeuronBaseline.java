package org.lens4j.analysis.probes;

/**
 * The best single neuron as a probe baseline: how well does one component of the activation, on its
 * own, predict the label? Each component gets a one-dimensional linear discriminant (LDA) fitted on the
 * training rows: class means {@code mu_c}, pooled within-class variance {@code s^2}, class frequencies
 * {@code pi_c}, class logits {@code x mu_c / s^2 - mu_c^2 / (2 s^2) + log pi_c}. For two classes this is
 * a threshold on the neuron, so its AUROC is the neuron's own. The component with the highest training
 * accuracy (the lowest index on a tie) is the baseline; its metrics are measured on the test rows.
 *
 * @param neuron the chosen component of the activation
 * @param trainAccuracy its accuracy on the training rows
 * @param test its metrics on the test rows
 */
public record SingleNeuronBaseline(int neuron, double trainAccuracy, ClassificationMetrics test) {

    /**
     * Finds the best single neuron on {@code train} and scores it on {@code test}.
     *
     * @throws IllegalArgumentException if the sets do not match, a class has no training row, or every
     *     component is constant on the training rows
     */
    public static SingleNeuronBaseline fit(ProbingSet train, ProbingSet test) {
        if (train.dim() != test.dim() || train.numClasses() != test.numClasses()) {
            throw new IllegalArgumentException("single-neuron baseline: train has " + train.dim() + " values and "
                    + train.numClasses() + " classes, test " + test.dim() + " and " + test.numClasses());
        }
        int[] labels = train.labels();
        int classes = train.numClasses();
        int[] counts = train.classCounts();
        for (int c = 0; c < classes; c++) {
            if (counts[c] == 0) {
                throw new IllegalArgumentException("single-neuron baseline: class '" + train.classNames().get(c)
                        + "' has no training rows");
            }
        }
        int best = -1;
        double bestAccuracy = -1;
        Discriminant bestModel = null;
        for (int j = 0; j < train.dim(); j++) {
            Discriminant lda = Discriminant.fit(train, labels, counts, j);
            if (lda == null) {
                continue;
            }
            int right = 0;
            for (int i = 0; i < train.size(); i++) {
                right += argMax(lda.logits(train.get(i, j))) == labels[i] ? 1 : 0;
            }
            double accuracy = (double) right / train.size();
            if (accuracy > bestAccuracy) {
                best = j;
                bestAccuracy = accuracy;
                bestModel = lda;
            }
        }
        if (bestModel == null) {
            throw new IllegalArgumentException("single-neuron baseline: every component of " + train.hook()
                    + " is constant on the training rows");
        }
        float[][] logits = new float[test.size()][];
        for (int i = 0; i < test.size(); i++) {
            logits[i] = bestModel.logits(test.get(i, best));
        }
        return new SingleNeuronBaseline(best, bestAccuracy, ClassificationMetrics.fromLogits(test.labels(), logits));
    }

    private static int argMax(float[] z) {
        int best = 0;
        for (int c = 1; c < z.length; c++) {
            if (z[c] > z[best]) {
                best = c;
            }
        }
        return best;
    }

    /** A one-dimensional LDA: class logits {@code a_c x + b_c}. */
    private record Discriminant(double[] slope, double[] intercept) {

        /**
         * Fits component j; null if it is constant. A component constant within each class (but not
         * overall) gets a variance of 1e-6 of its total variance, so it separates the classes.
         */
        static Discriminant fit(ProbingSet set, int[] labels, int[] counts, int j) {
            int classes = counts.length;
            double[] mean = new double[classes];
            for (int i = 0; i < set.size(); i++) {
                mean[labels[i]] += set.get(i, j);
            }
            for (int c = 0; c < classes; c++) {
                mean[c] /= counts[c];
            }
            double overall = 0;
            for (int c = 0; c < classes; c++) {
                overall += mean[c] * counts[c];
            }
            overall /= set.size();
            double within = 0;
            double total = 0;
            for (int i = 0; i < set.size(); i++) {
                double r = set.get(i, j) - mean[labels[i]];
                double t = set.get(i, j) - overall;
                within += r * r;
                total += t * t;
            }
            if (!(total > 0)) {
                return null;
            }
            double variance = Math.max(within / Math.max(1, set.size() - classes), 1e-6 * total / set.size());
            double[] slope = new double[classes];
            double[] intercept = new double[classes];
            for (int c = 0; c < classes; c++) {
                slope[c] = mean[c] / variance;
                intercept[c] = -mean[c] * mean[c] / (2 * variance) + Math.log((double) counts[c] / set.size());
            }
            return new Discriminant(slope, intercept);
        }

        float[] logits(double x) {
            float[] z = new float[slope.length];
            for (int c = 0; c < z.length; c++) {
                z[c] = (float) (slope[c] * x + intercept[c]);
            }
            return z;
        }
    }
}
