"""The device panel: what the test phone's screen shows, taken after a change's install and
launch and whenever the person asks (Ctrl+Shift+S); or why there is no image (iOS, no
device, adb problems). Kept per change, so switching changes shows each one's phone."""

from __future__ import annotations

import time

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPalette, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.screens import PhoneScreen
from desktop.ui.icons import icon

__all__ = ["DevicePanel", "ScreenImage"]


class ScreenImage(QWidget):
    """The screenshot, scaled to the space it gets (aspect kept, smooth), never asking for
    more room than a thumbnail. A click asks to see it full size."""

    clicked = Signal()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.shown_rect().contains(
                event.position().toPoint()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("phoneScreen")
        self.pixmap = QPixmap()
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    def set_png(self, data: bytes) -> bool:
        """Show ``data``; False when it is not an image Qt can read."""
        pixmap = QPixmap()
        ok = bool(data) and pixmap.loadFromData(data, "PNG")
        self.pixmap = pixmap if ok else QPixmap()
        self.updateGeometry()
        self.update()
        return ok

    def sizeHint(self) -> QSize:
        if self.pixmap.isNull():
            return QSize(0, 0)
        # As wide as the image is at the panel's height: the words beside it get the rest.
        height = max(self.height(), 120)
        return QSize(round(height * self.pixmap.width() / max(1, self.pixmap.height())), height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().height() != event.oldSize().height():
            self.updateGeometry()  # a taller panel: a wider image

    def minimumSizeHint(self) -> QSize:
        return QSize(0, 0)

    def hasHeightForWidth(self) -> bool:
        return False

    def shown_rect(self) -> QRect:
        """Where the image is drawn (the whole of it, centred, aspect kept)."""
        if self.pixmap.isNull():
            return QRect()
        size = self.pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRect((self.width() - size.width()) // 2, 0, size.width(), size.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.pixmap.isNull():
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        shown = self.shown_rect()
        painter.drawPixmap(shown, self.pixmap)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))  # the phone's edge
        painter.drawRect(shown.adjusted(0, 0, -1, -1))
        painter.end()


class DevicePanel(QWidget):
    """The phone's screen for the selected change; ``screenshot_requested`` asks for a new one."""

    screenshot_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("devicePanel")
        self.setAccessibleName(self.tr("Phone screen"))
        self.shots: dict[str, PhoneScreen] = {}  # by change id ("" for no change)
        self.busy: set[str] = set()
        self.change_id = ""
        title = QLabel(self.tr("Phone"))
        title.setObjectName("phoneTitle")
        self.image = ScreenImage()
        self.image.clicked.connect(self.enlarge)
        self.image.setToolTip(self.tr("Click to see it full size"))
        self.image.setCursor(Qt.CursorShape.PointingHandCursor)
        self.caption = QLabel()
        self.caption.setObjectName("phoneCaption")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.caption.setSizePolicy(policy)
        self.refresh = QToolButton()
        self.refresh.setObjectName("phoneScreenButton")
        self.refresh.setIcon(icon("phone"))
        self.refresh.setText(self.tr("Screenshot"))
        self.refresh.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.refresh.setToolTip(self.tr("Take a new screenshot of the phone (Ctrl+Shift+S)"))
        self.refresh.clicked.connect(self.screenshot_requested.emit)
        side = QVBoxLayout()
        side.setSpacing(6)
        side.addWidget(title)
        side.addWidget(self.caption)
        side.addWidget(self.refresh, 0, Qt.AlignmentFlag.AlignLeft)
        side.addStretch(1)
        # The image takes the panel's whole height (a phone is tall); words go beside it.
        body = QHBoxLayout(self)
        body.setContentsMargins(0, 4, 0, 4)
        body.setSpacing(10)
        body.addWidget(self.image)
        body.addLayout(side, 1)
        self.enlarged: QDialog | None = None
        self.show_change(None)

    def enlarge(self) -> None:
        """The screenshot at its own size (scaled down only to fit the screen)."""
        if self.image.pixmap.isNull():
            return
        dialog = QDialog(self.window())
        dialog.setObjectName("phoneScreenDialog")
        dialog.setWindowTitle(self.caption.text() or self.tr("Phone screen"))
        view = QLabel()
        screen = self.screen().availableGeometry().size() * 0.85
        view.setPixmap(self.image.pixmap.scaled(
            self.image.pixmap.size().boundedTo(screen), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))
        QVBoxLayout(dialog).addWidget(view)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.enlarged = dialog

    def minimumSizeHint(self) -> QSize:
        return QSize(0, 80)

    def show_change(self, change_id: str | None) -> None:
        """Show ``change_id``'s last screenshot; hidden when it has none and none is coming."""
        self.change_id = change_id or ""
        self._render()

    def taking(self, change_id: str | None) -> None:
        """A screenshot for ``change_id`` is on its way."""
        self.busy.add(change_id or "")
        if (change_id or "") == self.change_id or not self.change_id:
            self.change_id = change_id or ""
        self._render()

    def show_screen(self, change_id: str | None, screen: PhoneScreen) -> None:
        """``screen`` arrived for ``change_id``."""
        key = change_id or ""
        self.busy.discard(key)
        self.shots[key] = screen
        self._render()

    def _render(self) -> None:
        shot = self.shots.get(self.change_id)
        busy = self.change_id in self.busy
        self.setVisible(shot is not None or busy)
        if shot is not None and shot.png and self.image.set_png(shot.png):
            when = time.strftime("%H:%M:%S", time.localtime(shot.taken_at))
            self.caption.setText(self.tr("{device}, at {when}").format(device=shot.device,
                                                                      when=when))
        else:
            self.image.set_png(b"")
            self.caption.setText(shot.reason if shot is not None else "")
        if busy:
            self.caption.setText(self.tr("Taking a screenshot…"))
        self.refresh.setEnabled(not busy)
