// A chart wider than a phone scrolls sideways in its frame; it opens at its right-hand end,
// on the latest months, which are what a supervisor looks for first.
document.querySelectorAll(".chart-frame.latest-last").forEach(function (frame) {
  frame.scrollLeft = frame.scrollWidth;
});
