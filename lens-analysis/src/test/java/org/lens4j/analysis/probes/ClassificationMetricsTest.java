package org.lens4j.analysis.probes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Metrics against their definitions, computed independently here. */
class ClassificationMetricsTest {

    /** AUROC by its definition: P(positive scores higher than negative), ties counting 1/2, over all pairs. */
    private static double pairwiseAuroc(double[] scores, boolean[] positive) {
        double wins = 0;
        long pairs = 0;
        for (int i = 0; i < scores.length; i++) {
            for (int j = 0; j < scores.length; j++) {
                if (positive[i] && !positive[j]) {
                    pairs++;
                    wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                }
            }
        }
        return wins / pairs;
    }

    /** F1 as the harmonic mean of precision and recall (0 when both are 0). */
    private static double f1ByPrecisionRecall(int[] labels, int[] predicted, int cls) {
        int tp = 0;
        int predictedPositive = 0;
        int actualPositive = 0;
        for (int i = 0; i < labels.length; i++) {
            tp += labels[i] == cls && predicted[i] == cls ? 1 : 0;
            predictedPositive += predicted[i] == cls ? 1 : 0;
            actualPositive += labels[i] == cls ? 1 : 0;
        }
        double precision = predictedPositive == 0 ? 0 : (double) tp / predictedPositive;
        double recall = (double) tp / actualPositive;
        return precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
    }

    @Test
    void aurocIsExactWithTies() {
        Random rng = new Random(7);
        for (int trial = 0; trial < 20; trial++) {
            int n = 20 + rng.nextInt(200);
            double[] scores = new double[n];
            boolean[] positive = new boolean[n];
            for (int i = 0; i < n; i++) {
                positive[i] = i < 2 || (i >= 4 && rng.nextBoolean());
                // few distinct values, so many ties; positives score a little higher on average
                scores[i] = rng.nextInt(6) + (positive[i] ? rng.nextInt(2) : 0);
            }
            positive[2] = false;
            positive[3] = false;
            assertThat(ClassificationMetrics.auroc(scores, positive)).as("trial " + trial)
                    .isCloseTo(pairwiseAuroc(scores, positive), within(1e-12));
        }
    }

    @Test
    void binaryMetricsMatchTheirDefinitions() {
        Random rng = new Random(11);
        int n = 500;
        int[] labels = new int[n];
        float[][] scores = new float[n][2];
        int[] predicted = new int[n];
        double[] positiveScore = new double[n];
        boolean[] positive = new boolean[n];
        int right = 0;
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextInt(2);
            float p = (float) Math.min(1, Math.max(0, 0.5 + 0.3 * (labels[i] - 0.5) + 0.3 * rng.nextGaussian()));
            scores[i] = new float[] {1 - p, p};
            predicted[i] = scores[i][1] > scores[i][0] ? 1 : 0;
            right += predicted[i] == labels[i] ? 1 : 0;
            positiveScore[i] = p;
            positive[i] = labels[i] == 1;
        }
        ClassificationMetrics m = ClassificationMetrics.of(labels, scores);
        assertThat(m.n()).isEqualTo(n);
        assertThat(m.accuracy()).isEqualTo((double) right / n);
        assertThat(m.auroc()).isCloseTo(pairwiseAuroc(positiveScore, positive), within(1e-12));
        assertThat(m.f1()).isCloseTo(f1ByPrecisionRecall(labels, predicted, 1), within(1e-12));
    }

    @Test
    void multiClassMetricsAreMacroAverages() {
        Random rng = new Random(3);
        int n = 300;
        int classes = 4;
        int[] labels = new int[n];
        float[][] scores = new float[n][classes];
        int[] predicted = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % classes;
            for (int c = 0; c < classes; c++) {
                scores[i][c] = (float) (rng.nextGaussian() + (c == labels[i] ? 1 : 0));
            }
            int best = 0;
            for (int c = 1; c < classes; c++) {
                best = scores[i][c] > scores[i][best] ? c : best;
            }
            predicted[i] = best;
        }
        double auroc = 0;
        double f1 = 0;
        for (int c = 0; c < classes; c++) {
            double[] column = new double[n];
            boolean[] positive = new boolean[n];
            for (int i = 0; i < n; i++) {
                column[i] = scores[i][c];
                positive[i] = labels[i] == c;
            }
            auroc += pairwiseAuroc(column, positive) / classes;
            f1 += f1ByPrecisionRecall(labels, predicted, c) / classes;
        }
        ClassificationMetrics m = ClassificationMetrics.of(labels, scores);
        assertThat(m.auroc()).isCloseTo(auroc, within(1e-12));
        assertThat(m.f1()).isCloseTo(f1, within(1e-12));
    }

    @Test
    void logitsRankLikeProbabilitiesButNeverSaturate() {
        Random rng = new Random(5);
        int n = 200;
        int[] labels = new int[n];
        float[][] logits = new float[n][3];
        float[][] probabilities = new float[n][3];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 3;
            double sum = 0;
            for (int c = 0; c < 3; c++) {
                logits[i][c] = (float) (2 * rng.nextGaussian() + (c == labels[i] ? 1 : 0));
                sum += Math.exp(logits[i][c]);
            }
            for (int c = 0; c < 3; c++) {
                probabilities[i][c] = (float) (Math.exp(logits[i][c]) / sum);
            }
        }
        ClassificationMetrics fromLogits = ClassificationMetrics.fromLogits(labels, logits);
        ClassificationMetrics fromProbabilities = ClassificationMetrics.of(labels, probabilities);
        assertThat(fromLogits.accuracy()).isEqualTo(fromProbabilities.accuracy());
        assertThat(fromLogits.auroc()).isCloseTo(fromProbabilities.auroc(), within(1e-12));
        assertThat(fromLogits.f1()).isEqualTo(fromProbabilities.f1());

        // Confident binary logits: float32 probabilities all round to 1.0 and tie; the logits keep the order.
        int[] binary = {0, 1, 0, 1};
        float[][] confident = {{0, 30}, {0, 31}, {0, 29}, {0, 32}};
        float[][] saturated = {{0, 1}, {0, 1}, {0, 1}, {0, 1}};
        assertThat(ClassificationMetrics.fromLogits(binary, confident).auroc()).isEqualTo(1.0);
        assertThat(ClassificationMetrics.of(binary, saturated).auroc()).isEqualTo(0.5);
    }

    @Test
    void undefinedOrMalformedInputIsRefused() {
        assertThatThrownBy(() -> ClassificationMetrics.of(new int[] {1, 1}, new float[][] {{0, 1}, {1, 0}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("class 0 has no example");
        assertThatThrownBy(() -> ClassificationMetrics.of(new int[] {0, 1}, new float[][] {{0, 1}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 rows for 2 labels");
        assertThatThrownBy(() -> ClassificationMetrics.of(new int[] {0, 2}, new float[][] {{0, 1}, {1, 0}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label 2 of example 1");
        assertThatThrownBy(() -> ClassificationMetrics.of(new int[] {0, 1}, new float[][] {{0, 1}, {Float.NaN, 0}}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("score 0 of example 1 is NaN");
        assertThatThrownBy(() -> ClassificationMetrics.auroc(new double[] {1, 2}, new boolean[] {true, true}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positives and negatives");
    }
}
