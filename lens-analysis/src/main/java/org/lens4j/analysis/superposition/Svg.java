package org.lens4j.analysis.superposition;

import java.util.Locale;

/** A minimal SVG document builder: shapes in pixel coordinates, y pointing down. */
final class Svg {
    private final double width;
    private final double height;
    private final StringBuilder body = new StringBuilder();

    Svg(double width, double height) {
        this.width = width;
        this.height = height;
    }

    Svg rect(double x, double y, double w, double h, String fill) {
        body.append(String.format(Locale.ROOT,
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>%n",
                x, y, w, h, fill));
        return this;
    }

    Svg frame(double x, double y, double w, double h) {
        body.append(String.format(Locale.ROOT, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\""
                + " height=\"%.2f\" fill=\"none\" stroke=\"#888\" stroke-width=\"0.5\"/>%n",
                x, y, w, h));
        return this;
    }

    Svg line(double x1, double y1, double x2, double y2, String stroke, double strokeWidth) {
        body.append(String.format(Locale.ROOT, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\""
                + " y2=\"%.2f\" stroke=\"%s\" stroke-width=\"%.2f\"/>%n",
                x1, y1, x2, y2, stroke, strokeWidth));
        return this;
    }

    Svg circle(double cx, double cy, double r, String fill, String stroke) {
        body.append(String.format(Locale.ROOT, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\""
                + " fill=\"%s\" stroke=\"%s\"/>%n", cx, cy, r, fill, stroke));
        return this;
    }

    Svg polyline(double[] xs, double[] ys, String stroke, double strokeWidth) {
        StringBuilder points = new StringBuilder();
        for (int i = 0; i < xs.length; i++) {
            points.append(String.format(Locale.ROOT, "%.2f,%.2f ", xs[i], ys[i]));
        }
        body.append(String.format(Locale.ROOT, "<polyline points=\"%s\" fill=\"none\""
                + " stroke=\"%s\" stroke-width=\"%.2f\"/>%n", points.toString().trim(), stroke,
                strokeWidth));
        return this;
    }

    /** A line from (x1, y1) to (x2, y2) with a filled arrowhead at (x2, y2). */
    Svg arrow(double x1, double y1, double x2, double y2, String colour) {
        line(x1, y1, x2, y2, colour, 2);
        double length = Math.hypot(x2 - x1, y2 - y1);
        if (length == 0) {
            return this;
        }
        double ux = (x2 - x1) / length;
        double uy = (y2 - y1) / length;
        double head = Math.min(8, length / 2);
        double bx = x2 - head * ux;
        double by = y2 - head * uy;
        body.append(String.format(Locale.ROOT,
                "<polygon points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f\" fill=\"%s\"/>%n", x2, y2,
                bx - head / 2 * uy, by + head / 2 * ux, bx + head / 2 * uy, by - head / 2 * ux,
                colour));
        return this;
    }

    /** Text; {@code anchor} is start, middle or end. */
    Svg text(double x, double y, String text, double size, String anchor) {
        body.append(String.format(Locale.ROOT, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\""
                + " text-anchor=\"%s\">%s</text>%n", x, y, size, anchor, escape(text)));
        return this;
    }

    /** Text rotated by -90 degrees about its anchor, for vertical axis labels. */
    Svg verticalText(double x, double y, String text, double size) {
        body.append(String.format(Locale.ROOT, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\""
                + " text-anchor=\"middle\" transform=\"rotate(-90 %.2f %.2f)\">%s</text>%n",
                x, y, size, x, y, escape(text)));
        return this;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\""
                + " width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\""
                + " font-family=\"sans-serif\">%n<rect width=\"100%%\" height=\"100%%\""
                + " fill=\"white\"/>%n%s</svg>%n", width, height, width, height, body);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
