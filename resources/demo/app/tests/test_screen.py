import unittest

from player.screen import title_text


class ScreenTest(unittest.TestCase):
    def test_title_names_the_track(self) -> None:
        self.assertEqual(title_text("Goose Song"), "Honk Player - Goose Song")

    def test_title_without_a_track(self) -> None:
        self.assertEqual(title_text(None), "Honk Player")


if __name__ == "__main__":
    unittest.main()
