import unittest

from player.layout import MIN_TOUCH_TARGET, layout

SCREENS = [(360, 640), (411, 891), (1080, 2400)]


class LayoutTest(unittest.TestCase):
    def test_play_button_is_on_screen(self) -> None:
        for width, height in SCREENS:
            x, y, w, h = layout(width, height)["play"]
            self.assertGreaterEqual(x, 0)
            self.assertLessEqual(x + w, width)
            self.assertLessEqual(y + h, height)

    def test_play_button_is_big_enough_to_tap(self) -> None:
        for width, height in SCREENS:
            _, _, w, h = layout(width, height)["play"]
            self.assertGreaterEqual(min(w, h), MIN_TOUCH_TARGET)

    def test_title_spans_the_screen(self) -> None:
        self.assertEqual(layout(360, 640)["title"], (0, 0, 360, 56))


if __name__ == "__main__":
    unittest.main()
