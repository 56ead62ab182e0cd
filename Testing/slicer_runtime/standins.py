"""Minimal stand-ins for Qt (``qt``), CTK (``ctk``), the ``qMRML*`` widgets and ``slicer.app``.

Only as much of PythonQt as Slicer's real Python layer (``slicer.util``,
``slicer.ScriptedLoadableModule``, ``slicer.parameterNodeWrapper``, ``slicer.packaging``)
and the modules' widget code touch. The rules the real widgets follow and that the
parameter-node GUI connectors depend on are kept: exact classes (the connectors test
``type(widget) in (qt.QSpinBox, ...)``), Qt's default ranges and clamping, rounding to
``decimals``, signals that fire only on a change, combo boxes that select their first
item, node selectors that accept only a node of their ``nodeTypes`` in their scene
(so a selector that never got the scene stays empty, as in Slicer).

A widget tree is built from a ``.ui`` file by :class:`QUiLoader`: every ``<widget>``
becomes an instance of the stand-in class of that name (an unknown class becomes a plain
``QWidget`` subclass of that name, which no connector accepts), with its ``objectName``,
the properties of the file (dynamic ones such as ``SlicerParameterName`` included), its
layouts, and the file's ``<connections>`` (e.g. the root's ``mrmlSceneChanged`` to each
selector's ``setMRMLScene``).

Nothing here imports Slicer; :func:`install` puts ``qt`` and ``ctk`` into ``sys.modules``.
"""

import math
import sys
import time
import types
import xml.etree.ElementTree as ElementTree

#: Every message box and confirmation shown: dicts with the box's text, title, buttons and answer.
DIALOGS = []
#: Answers given to message boxes, by button kind: "okcancel" (pip_ensure's install confirmation),
#: "yesno" (pip_ensure's restart offer). Tests may change them.
ANSWERS = {"okcancel": "Ok", "yesno": "No"}


# ---------------------------------------------------------------------------------------------
# Signals and the event loop


class Signal:
    """A PythonQt bound signal: ``connect``/``disconnect`` a callable, ``emit`` calls them in order."""

    def __init__(self, name):
        self.name = name
        self._slots = []

    def connect(self, slot):
        self._slots.append(slot)
        return True

    def disconnect(self, slot=None):
        if slot is None:
            self._slots.clear()
            return True
        for index, connected in enumerate(self._slots):
            if connected == slot:
                del self._slots[index]
                return True
        raise RuntimeError(f"disconnect: {slot!r} is not connected to signal {self.name}")

    def emit(self, *args):
        for slot in list(self._slots):
            _call_slot(slot, args)

    def __call__(self, *args):
        self.emit(*args)


def _call_slot(slot, args):
    """Call a slot with as many of the signal's arguments as it takes (PythonQt drops the others)."""
    import inspect

    try:
        parameters = list(inspect.signature(slot).parameters.values())
    except (TypeError, ValueError):
        return slot(*args)
    if any(parameter.kind == parameter.VAR_POSITIONAL for parameter in parameters):
        return slot(*args)
    positional = [parameter for parameter in parameters
                  if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    return slot(*args[:len(positional)])


class EventLoop:
    """``QTimer.singleShot`` callbacks, run by ``slicer.app.processEvents()``."""

    def __init__(self):
        self._timers = []

    def add(self, msec, callback):
        self._timers.append((time.monotonic() + msec / 1000.0, callback))

    def process(self):
        now = time.monotonic()
        due = [timer for timer in self._timers if timer[0] <= now]
        self._timers = [timer for timer in self._timers if timer[0] > now]
        for _when, callback in due:
            callback()

    def pending(self):
        return len(self._timers)


EVENT_LOOP = EventLoop()


# ---------------------------------------------------------------------------------------------
# QObject / QWidget


class QObject:
    """Object name, parent/children, dynamic properties and PythonQt-style signals."""

    #: Signal names of the class (``name`` as in ``valueChanged``); instances get a Signal each.
    SIGNALS = ("destroyed", "objectNameChanged")

    def __init__(self, parent=None):
        self.__dict__["_properties"] = {}
        self.__dict__["_children"] = []
        self.__dict__["_parent"] = None
        self.__dict__["objectName"] = ""
        for cls in type(self).__mro__:
            for signal in getattr(cls, "SIGNALS", ()):
                if signal not in self.__dict__:
                    self.__dict__[signal] = Signal(signal)
        if isinstance(parent, QObject):
            self.setParent(parent)

    # name / parent / children
    @property
    def name(self):
        return self.objectName

    @name.setter
    def name(self, value):
        self.objectName = value

    def setObjectName(self, name):
        self.objectName = name

    def parent(self):
        return self._parent

    def setParent(self, parent):
        if self._parent is not None and self in self._parent._children:
            self._parent._children.remove(self)
        self.__dict__["_parent"] = parent
        if parent is not None:
            parent._children.append(self)

    def children(self):
        return list(self._children)

    def findChildren(self, cls=None, name=None):
        found = []
        stack = list(reversed(self._children))
        while stack:
            child = stack.pop()
            if (cls is None or isinstance(child, cls)) and (not name or child.objectName == name):
                found.append(child)
            stack.extend(reversed(child._children))
        return found

    def findChild(self, cls=None, name=None):
        children = self.findChildren(cls, name)
        return children[0] if children else None

    def isWidgetType(self):
        return False

    def className(self):
        return type(self).__name__

    def metaObject(self):
        return types.SimpleNamespace(className=lambda: type(self).__name__)

    def inherits(self, class_name):
        return any(cls.__name__ == class_name for cls in type(self).__mro__)

    # dynamic properties
    def property(self, name):
        if name in self._properties:
            return self._properties[name]
        if not name.startswith("_") and hasattr(type(self), name):
            value = getattr(self, name)
            return None if callable(value) else value
        return None

    def setProperty(self, name, value):
        if not name.startswith("_") and hasattr(type(self), name) and not callable(getattr(type(self), name)):
            setattr(self, name, value)
        else:
            self._properties[name] = value
        return True

    def dynamicPropertyNames(self):
        return list(self._properties)

    # PythonQt string connections: obj.connect("clicked(bool)", slot)
    def connect(self, signature, slot, *more):
        if not isinstance(signature, str):
            raise TypeError("QObject.connect stand-in: give a signal signature string and a callable")
        return self._signal(signature).connect(slot)

    def disconnect(self, signature, slot=None):
        return self._signal(signature).disconnect(slot)

    def _signal(self, signature):
        name = signature.split("(")[0].strip()
        signal = self.__dict__.get(name)
        if not isinstance(signal, Signal):
            raise AttributeError(f"{type(self).__name__} stand-in has no signal '{signature}'")
        return signal

    def blockSignals(self, block):
        return False

    def deleteLater(self):
        pass

    def __bool__(self):
        return True

    def __repr__(self):
        return f"<{type(self).__name__} stand-in '{self.objectName}'>"


class QWidget(QObject):
    SIGNALS = ("customContextMenuRequested",)

    def __init__(self, parent=None, *args):
        super().__init__(parent)
        self.enabled = True
        self.visible = True
        self.toolTip = ""
        self.statusTip = ""
        self.whatsThis = ""
        self.windowTitle = ""
        self.styleSheet = ""
        self._layout = None

    def isWidgetType(self):
        return True

    def layout(self):
        return self._layout

    def setLayout(self, layout):
        self._layout = layout
        layout.setParent(self)

    def setEnabled(self, enabled):
        self.enabled = bool(enabled)

    def isEnabled(self):
        return self.enabled

    def setVisible(self, visible):
        self.visible = bool(visible)

    def isVisible(self):
        return self.visible

    def show(self):
        self.visible = True

    def hide(self):
        self.visible = False

    def close(self):
        self.visible = False
        return True

    def setToolTip(self, text):
        self.toolTip = text

    def setWindowTitle(self, text):
        self.windowTitle = text

    def resize(self, *args):
        pass

    def setMinimumHeight(self, value):
        pass

    def setMaximumHeight(self, value):
        pass

    def setMinimumWidth(self, value):
        pass

    def setSizePolicy(self, *args):
        pass

    def setFont(self, font):
        self.font = font

    def update(self):
        pass

    def repaint(self):
        pass


class QLayout(QObject):
    def __init__(self, parent=None):
        super().__init__(None)
        self._items = []
        if isinstance(parent, QWidget):
            parent.setLayout(self)

    def _adopt(self, widget):
        owner = self._owner()
        if owner is not None and isinstance(widget, QObject) and widget.parent() is not owner:
            widget.setParent(owner)

    def _owner(self):
        parent = self.parent()
        while isinstance(parent, QLayout):
            parent = parent.parent()
        return parent

    def addWidget(self, widget, *args):
        self._items.append(widget)
        self._adopt(widget)

    def addLayout(self, layout, *args):
        self._items.append(layout)
        layout.setParent(self)

    def addRow(self, *args):
        for item in args:
            if isinstance(item, QLayout):
                self.addLayout(item)
            elif isinstance(item, QObject):
                self.addWidget(item)

    def addItem(self, item):
        self._items.append(item)

    def addStretch(self, *args):
        pass

    def count(self):
        return len(self._items)

    def setContentsMargins(self, *args):
        pass

    def setSpacing(self, *args):
        pass


class QVBoxLayout(QLayout):
    pass


class QHBoxLayout(QLayout):
    pass


class QFormLayout(QLayout):
    pass


class QGridLayout(QLayout):
    pass


# ---------------------------------------------------------------------------------------------
# Value widgets (the ones the parameter-node GUI connectors bind)


class QLabel(QWidget):
    def __init__(self, text="", parent=None):
        if isinstance(text, QObject):
            text, parent = "", text
        super().__init__(parent)
        self.text = text
        self.wordWrap = False

    def setText(self, text):
        self.text = text


class QAbstractButton(QWidget):
    SIGNALS = ("clicked", "pressed", "released", "toggled")

    def __init__(self, text="", parent=None):
        if isinstance(text, QObject):
            text, parent = "", text
        super().__init__(parent)
        self.__dict__["_checked"] = False
        self.text = text
        self.checkable = False

    @property
    def checked(self):
        return self._checked

    @checked.setter
    def checked(self, value):
        value = bool(value)
        if not self.checkable or value == self._checked:
            return
        self.__dict__["_checked"] = value
        self._checkedChanged(value)

    def _checkedChanged(self, value):
        self.toggled.emit(value)

    def isChecked(self):
        return self.checked

    def setChecked(self, value):
        self.checked = value

    def setCheckable(self, value):
        self.checkable = bool(value)

    def setText(self, text):
        self.text = text

    def click(self):
        """A user's click: toggles a checkable button, then emits clicked(checked) (only when enabled)."""
        if not self.enabled:
            return
        if self.checkable:
            self.checked = not self.checked
        self.clicked.emit(self.checked)


class QPushButton(QAbstractButton):
    pass


class QToolButton(QAbstractButton):
    def setMenu(self, menu):
        self._menu = menu

    def setDefaultAction(self, action):
        self._defaultAction = action

    def defaultAction(self):
        return getattr(self, "_defaultAction", None)


class QCheckBox(QAbstractButton):
    SIGNALS = ("stateChanged",)

    def __init__(self, text="", parent=None):
        super().__init__(text, parent)
        self.checkable = True

    def _checkedChanged(self, value):
        self.stateChanged.emit(2 if value else 0)
        self.toggled.emit(value)

    def checkState(self):
        return 2 if self.checked else 0


class QRadioButton(QAbstractButton):
    def __init__(self, text="", parent=None):
        super().__init__(text, parent)
        self.checkable = True


class _RangedValue(QWidget):
    """Qt's range rules: setting the range clamps the value; a changed value emits valueChanged."""

    SIGNALS = ("valueChanged", "editingFinished")
    DEFAULT_MAXIMUM = 99
    INTEGER = True

    def __init__(self, parent=None):
        super().__init__(parent)
        self.__dict__["_minimum"] = 0
        self.__dict__["_maximum"] = self.DEFAULT_MAXIMUM
        self.__dict__["_value"] = 0
        self.__dict__["_decimals"] = 0 if self.INTEGER else 2
        self.singleStep = 1
        self.suffix = ""
        self.prefix = ""
        self.tracking = True

    def _fix(self, value):
        value = min(max(value, self._minimum), self._maximum)
        if self.INTEGER:
            return int(value)
        if math.isfinite(value):
            value = round(float(value), self._decimals)
        return float(value)

    def _setValue(self, value):
        value = self._fix(value)
        if value != self._value:
            self.__dict__["_value"] = value
            self.valueChanged.emit(value)

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, value):
        self._setValue(value)

    def setValue(self, value):
        self._setValue(value)

    @property
    def minimum(self):
        return self._minimum

    @minimum.setter
    def minimum(self, value):
        self.setRange(value, max(value, self._maximum))

    @property
    def maximum(self):
        return self._maximum

    @maximum.setter
    def maximum(self, value):
        self.setRange(min(value, self._minimum), value)

    def setMinimum(self, value):
        self.minimum = value

    def setMaximum(self, value):
        self.maximum = value

    def setRange(self, minimum, maximum):
        if self.INTEGER:
            minimum, maximum = int(minimum), int(maximum)
        self.__dict__["_minimum"] = minimum
        self.__dict__["_maximum"] = max(minimum, maximum)
        self._setValue(self._value)

    @property
    def decimals(self):
        return self._decimals

    @decimals.setter
    def decimals(self, value):
        self.__dict__["_decimals"] = int(value)
        if not self.INTEGER:
            self._setValue(self._value)

    def setDecimals(self, value):
        self.decimals = value

    def setSingleStep(self, value):
        self.singleStep = value


class QSpinBox(_RangedValue):
    pass


class QSlider(_RangedValue):
    def __init__(self, *args):
        super().__init__(*[arg for arg in args if isinstance(arg, QObject)])


class QDoubleSpinBox(_RangedValue):
    INTEGER = False


class QProgressBar(_RangedValue):
    DEFAULT_MAXIMUM = 100


class QComboBox(QWidget):
    SIGNALS = ("currentIndexChanged", "currentTextChanged", "activated")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._items = []
        self.__dict__["_currentIndex"] = -1
        self.editable = False

    def _setIndex(self, index):
        index = int(index)
        if not -1 <= index < len(self._items):
            index = -1
        if index != self._currentIndex:
            self.__dict__["_currentIndex"] = index
            self.currentIndexChanged.emit(index)
            self.currentTextChanged.emit(self.currentText)

    @property
    def currentIndex(self):
        return self._currentIndex

    @currentIndex.setter
    def currentIndex(self, index):
        self._setIndex(index)

    def setCurrentIndex(self, index):
        self._setIndex(index)

    @property
    def currentText(self):
        return self._items[self._currentIndex] if self._currentIndex >= 0 else ""

    def setCurrentText(self, text):
        if text in self._items:
            self._setIndex(self._items.index(text))

    @property
    def count(self):
        return len(self._items)

    def addItem(self, text, *args):
        self._items.append(str(text))
        if self._currentIndex == -1:
            self._setIndex(0)

    def addItems(self, texts):
        for text in texts:
            self.addItem(text)

    def itemText(self, index):
        return self._items[index]

    def findText(self, text):
        return self._items.index(text) if text in self._items else -1

    def clear(self):
        self._items = []
        self._setIndex(-1)


class QLineEdit(QWidget):
    SIGNALS = ("textChanged", "editingFinished", "returnPressed")

    def __init__(self, text="", parent=None):
        if isinstance(text, QObject):
            text, parent = "", text
        super().__init__(parent)
        self.__dict__["_text"] = text
        self.placeholderText = ""
        self.readOnly = False

    @property
    def text(self):
        return self._text

    @text.setter
    def text(self, value):
        if value != self._text:
            self.__dict__["_text"] = value
            self.textChanged.emit(value)

    def setText(self, value):
        self.text = value


class QTextEdit(QWidget):
    SIGNALS = ("textChanged",)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._plain = ""

    def toPlainText(self):
        return self._plain

    def setPlainText(self, text):
        if text != self._plain:
            self._plain = text
            self.textChanged.emit()

    def setReadOnly(self, value):
        self.readOnly = value


class QScrollBar(_RangedValue):
    pass


class QPlainTextEdit(QTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._scrollBar = QScrollBar()

    def appendPlainText(self, text):
        self.setPlainText(self._plain + ("\n" if self._plain else "") + text)

    def verticalScrollBar(self):
        return self._scrollBar


class QGroupBox(QWidget):
    SIGNALS = ("toggled",)

    def __init__(self, title="", parent=None):
        if isinstance(title, QObject):
            title, parent = "", title
        super().__init__(parent)
        self.title = title
        self.checkable = False
        self.checked = False


class QFrame(QWidget):
    pass


class QTabWidget(QWidget):
    SIGNALS = ("currentChanged",)


class QStackedWidget(QWidget):
    SIGNALS = ("currentChanged",)


class QScrollArea(QWidget):
    pass


class QSplitter(QWidget):
    pass


class QListWidget(QWidget):
    SIGNALS = ("currentRowChanged", "itemSelectionChanged")


class QTableWidget(QWidget):
    SIGNALS = ("cellChanged", "itemSelectionChanged")


class QTreeView(QWidget):
    pass


class QMainWindow(QWidget):
    pass


# ---------------------------------------------------------------------------------------------
# Dialogs


class QDialog(QWidget):
    SIGNALS = ("accepted", "rejected", "finished")
    Accepted, Rejected = 1, 0

    def __init__(self, parent=None, *args):
        super().__init__(parent)
        self.modal = False
        self._flags = 0

    def setModal(self, modal):
        self.modal = bool(modal)

    def windowFlags(self):
        return self._flags

    def setWindowFlags(self, flags):
        self._flags = flags

    def exec_(self):
        return self.Accepted

    exec = exec_

    def accept(self):
        self.visible = False

    def reject(self):
        self.visible = False


class QMessageBox(QDialog):
    NoButton = 0x0
    Ok = 0x400
    Save = 0x800
    Open = 0x2000
    Yes = 0x4000
    No = 0x10000
    Abort = 0x40000
    Retry = 0x80000
    Ignore = 0x100000
    Close = 0x200000
    Cancel = 0x400000
    NoIcon, Information, Warning, Critical, Question = 0, 1, 2, 3, 4

    def __init__(self, *args):
        super().__init__(*[arg for arg in args if isinstance(arg, QObject)][:1])
        self.text = ""
        self.detailedText = ""
        self.informativeText = ""
        self.icon = 0
        self.standardButtons = QMessageBox.Ok

    def setText(self, text):
        self.text = text

    def setStandardButtons(self, buttons):
        self.standardButtons = buttons

    def setDetailedText(self, text):
        self.detailedText = text

    def exec_(self):
        buttons = self.standardButtons
        if buttons & QMessageBox.Ok and buttons & QMessageBox.Cancel:
            kind = "okcancel"
        elif buttons & QMessageBox.Yes and buttons & QMessageBox.No:
            kind = "yesno"
        else:
            kind = "ok"
        answer_name = ANSWERS.get(kind, "Ok")
        answer = getattr(QMessageBox, answer_name)
        DIALOGS.append({"kind": kind, "title": str(self.windowTitle).strip(), "text": str(self.text),
                        "detailedText": str(self.detailedText), "answer": answer_name})
        return answer

    exec = exec_


class QProgressDialog(QDialog):
    SIGNALS = ("canceled",)

    def __init__(self, *args):
        super().__init__(*[arg for arg in args if isinstance(arg, QObject)][:1])
        self.minimumDuration = 4000
        self.minimum = 0
        self.maximum = 100
        self.value = 0
        self.labelText = ""
        self.wasCanceled = False
        self.autoClose = True
        self.autoReset = True
        self.values = []

    def __setattr__(self, name, value):
        if name == "value":
            self.__dict__.setdefault("values", []).append(value)
        super().__setattr__(name, value)

    def setValue(self, value):
        self.value = value

    def setLabelText(self, text):
        self.labelText = text

    def cancel(self):
        self.wasCanceled = True
        self.canceled.emit()


class QMenu(QWidget):
    def addAction(self, action):
        return action


class QAction(QObject):
    SIGNALS = ("triggered", "toggled")

    def __init__(self, text="", parent=None):
        super().__init__(parent if isinstance(parent, QObject) else None)
        self.text = text

    def setStatusTip(self, text):
        self.statusTip = text


class QShortcut(QObject):
    SIGNALS = ("activated",)

    def __init__(self, key=None, parent=None, *args):
        super().__init__(parent if isinstance(parent, QObject) else None)
        self.key = key

    def setContext(self, context):
        self.context = context


# ---------------------------------------------------------------------------------------------
# Plain value classes


class QColor:
    def __init__(self, *args):
        self._name = "#000000"
        if args and isinstance(args[0], str):
            self._name = args[0]
        elif args and isinstance(args[0], QColor):
            self._name = args[0]._name

    def name(self, *args):
        return self._name

    def setNamedColor(self, name):
        self._name = name

    def isValid(self):
        return True

    def __eq__(self, other):
        return isinstance(other, QColor) and other._name == self._name

    __hash__ = None


class QFont:
    TypeWriter = 5

    def __init__(self, family="", *args):
        self.family = family

    def setStyleHint(self, hint):
        self.styleHint = hint

    def setBold(self, value):
        self.bold = value


class QKeySequence:
    def __init__(self, key=None):
        self.key = key


class QIcon:
    def __init__(self, path=""):
        self.path = path

    def isNull(self):
        return not self.path


class QSize:
    def __init__(self, width=0, height=0):
        self._width, self._height = width, height

    def width(self):
        return self._width

    def height(self):
        return self._height


class QSizePolicy:
    Fixed, Minimum, Maximum, Preferred, Expanding, MinimumExpanding, Ignored = 0, 1, 4, 5, 7, 3, 13

    def __init__(self, *args):
        pass


class QSettings:
    """One in-memory store for the whole process (Slicer's settings file)."""

    _store = {}

    def __init__(self, *args):
        pass

    def value(self, key, default=None):
        return QSettings._store.get(key, default)

    def setValue(self, key, value):
        QSettings._store[key] = value

    def contains(self, key):
        return key in QSettings._store

    def remove(self, key):
        QSettings._store.pop(key, None)

    def allKeys(self):
        return list(QSettings._store)

    def sync(self):
        pass


class QFile:
    ReadOnly, WriteOnly, ReadWrite, Text = 1, 2, 3, 16

    def __init__(self, path):
        self._path = str(path)
        self._open = False

    def fileName(self):
        return self._path

    def exists(self):
        import os

        return os.path.isfile(self._path)

    def open(self, mode):
        self._open = self.exists()
        return self._open

    def close(self):
        self._open = False


class QDir:
    def __init__(self, path=""):
        self._path = str(path)

    def absolutePath(self):
        import os

        return os.path.abspath(self._path)

    def mkpath(self, path):
        import os

        os.makedirs(path, exist_ok=True)
        return True

    @staticmethod
    def isAbsolutePath(path):
        import os

        return os.path.isabs(path)


class QThread:
    _main = object()

    @staticmethod
    def currentThread():
        import threading

        return QThread._main if threading.current_thread() is threading.main_thread() else object()

    @staticmethod
    def msleep(msec):
        time.sleep(msec / 1000.0)


class QTimer(QObject):
    SIGNALS = ("timeout",)

    def __init__(self, parent=None):
        super().__init__(parent if isinstance(parent, QObject) else None)
        self.interval = 0
        self.singleShot_ = False

    @staticmethod
    def singleShot(msec, callback):
        EVENT_LOOP.add(msec, callback)

    def start(self, msec=None):
        if msec is not None:
            self.interval = msec
        EVENT_LOOP.add(self.interval, self.timeout.emit)

    def stop(self):
        pass


class QApplication:
    _cursors = []

    @staticmethod
    def setOverrideCursor(cursor):
        QApplication._cursors.append(cursor)

    @staticmethod
    def restoreOverrideCursor():
        if QApplication._cursors:
            QApplication._cursors.pop()

    @staticmethod
    def processEvents(*args):
        EVENT_LOOP.process()


class _Enums:
    """``qt.Qt``: any enum name is an int (distinct names, distinct powers of two)."""

    def __init__(self):
        self._values = {"AlignLeft": 0x1, "AlignRight": 0x2, "AlignCenter": 0x84, "Vertical": 2, "Horizontal": 1,
                        "Checked": 2, "Unchecked": 0, "ShiftModifier": 0x02000000, "NoModifier": 0}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        values = self.__dict__["_values"]
        if name not in values:
            values[name] = 1 << (len(values) + 8)
        return values[name]


# ---------------------------------------------------------------------------------------------
# CTK and qMRML widgets


class ctkCollapsibleButton(QAbstractButton):
    SIGNALS = ("contentsCollapsed",)

    def __init__(self, text="", parent=None):
        super().__init__(text, parent)
        self.checkable = True
        self.__dict__["_checked"] = True
        self.collapsedHeight = 10

    @property
    def collapsed(self):
        return not self.checked

    @collapsed.setter
    def collapsed(self, value):
        if bool(value) != self.collapsed:
            self.checked = not value
            self.contentsCollapsed.emit(bool(value))


class ctkCollapsibleGroupBox(QGroupBox):
    pass


class ctkCheckBox(QCheckBox):
    pass


class ctkCheckablePushButton(QPushButton):
    SIGNALS = ("checkBoxToggled",)

    def __init__(self, text="", parent=None):
        super().__init__(text, parent)
        self.checkBoxControlsButtonToggleState = False
        self.checkState = 0


class ctkSliderWidget(_RangedValue):
    """``ctkSliderWidget``: float value, range 0..99, 2 decimals, rounded to ``decimals`` as Qt does."""

    INTEGER = False


class ctkDoubleSpinBox(_RangedValue):
    INTEGER = False


class ctkDoubleSlider(_RangedValue):
    INTEGER = False


class qMRMLSliderWidget(ctkSliderWidget):
    SIGNALS = ("mrmlSceneChanged",)

    def setMRMLScene(self, scene):
        self._scene = scene


class qMRMLSpinBox(ctkDoubleSpinBox):
    SIGNALS = ("mrmlSceneChanged",)

    def setMRMLScene(self, scene):
        self._scene = scene


class ctkComboBox(QComboBox):
    pass


class ctkRangeWidget(QWidget):
    SIGNALS = ("valuesChanged", "minimumValueChanged", "maximumValueChanged")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.minimum, self.maximum = 0.0, 99.0
        self.minimumValue, self.maximumValue = 0.0, 99.0
        self.decimals = 2
        self.singleStep = 1.0

    def setRange(self, minimum, maximum):
        self.minimum, self.maximum = minimum, maximum
        self.setValues(min(max(self.minimumValue, minimum), maximum), min(max(self.maximumValue, minimum), maximum))

    def setValues(self, minimum, maximum):
        if (minimum, maximum) != (self.minimumValue, self.maximumValue):
            self.minimumValue, self.maximumValue = minimum, maximum
            self.valuesChanged.emit(minimum, maximum)


class ctkDoubleRangeSlider(ctkRangeWidget):
    pass


class qMRMLRangeWidget(ctkRangeWidget):
    pass


class ctkPathLineEdit(QWidget):
    SIGNALS = ("currentPathChanged",)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.__dict__["_path"] = ""

    @property
    def currentPath(self):
        return self._path

    @currentPath.setter
    def currentPath(self, value):
        if value != self._path:
            self.__dict__["_path"] = value
            self.currentPathChanged.emit(value)


class ctkDirectoryButton(QWidget):
    SIGNALS = ("directoryChanged",)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.__dict__["_directory"] = ""

    @property
    def directory(self):
        return self._directory

    @directory.setter
    def directory(self, value):
        if value != self._directory:
            self.__dict__["_directory"] = value
            self.directoryChanged.emit(value)


class ctkColorPickerButton(QPushButton):
    SIGNALS = ("colorChanged",)

    def __init__(self, *args):
        super().__init__(*[arg for arg in args if isinstance(arg, (str, QObject))])
        self.color = QColor()


class ctkMessageBox(QMessageBox):
    def __init__(self, *args):
        super().__init__(*args)
        self.dontShowAgainSettingsKey = ""


class qMRMLWidget(QWidget):
    """Slicer's ``qMRMLWidget``: ``setMRMLScene`` keeps the scene and emits ``mrmlSceneChanged``."""

    SIGNALS = ("mrmlSceneChanged",)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scene = None

    def setMRMLScene(self, scene):
        if scene is not self._scene:
            self._scene = scene
            self.mrmlSceneChanged.emit(scene)

    def mrmlScene(self):
        return self._scene


def _node_is_a(node, class_names):
    return any(node.IsA(class_name) for class_name in class_names)


class qMRMLNodeComboBox(qMRMLWidget):
    """``qMRMLNodeComboBox``: offers the scene's nodes of ``nodeTypes``; only those can be current."""

    SIGNALS = ("currentNodeChanged", "currentNodeIDChanged", "nodeAdded", "nodeActivated",
               "nodeAddedByUser", "nodeAboutToBeRemoved")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.nodeTypes = []
        self.showChildNodeTypes = True
        self.hideChildNodeTypes = []
        self.noneEnabled = False
        self.addEnabled = True
        self.removeEnabled = True
        self.renameEnabled = False
        self.editEnabled = False
        self.showHidden = False
        self.selectNodeUponCreation = True
        self.noneDisplay = "None"
        self.baseName = ""
        self._current = None
        #: Nodes given to setCurrentNode that the selector could not offer (wrong type, not in its scene).
        self.rejected = []

    def _offers(self, node):
        if self._scene is None or node.GetScene() is not self._scene:
            return False
        if not _node_is_a(node, self.nodeTypes):
            return False
        if not self.showChildNodeTypes and node.GetClassName() not in self.nodeTypes:
            return False
        if any(node.IsA(hidden) for hidden in self.hideChildNodeTypes):
            return False
        return self.showHidden or not node.GetHideFromEditors()

    def nodes(self):
        if self._scene is None:
            return []
        found = []
        for index in range(self._scene.GetNumberOfNodes()):
            node = self._scene.GetNthNode(index)
            if self._offers(node):
                found.append(node)
        return found

    def currentNode(self):
        if self._current is not None and self._current.GetScene() is not self._scene:
            self._current = None  # removed from the scene
        return self._current

    def currentNodeID(self):
        node = self.currentNode()
        return node.GetID() if node is not None else ""

    def setCurrentNode(self, node):
        if node is not None and not self._offers(node):
            self.rejected.append(node)
            node = None
        if node is self._current:
            return
        self._current = node
        self.currentNodeChanged.emit(node)
        self.currentNodeIDChanged.emit(node.GetID() if node is not None else "")

    def setCurrentNodeID(self, node_id):
        self.setCurrentNode(self._scene.GetNodeByID(node_id) if self._scene is not None and node_id else None)

    def setMRMLScene(self, scene):
        changed = scene is not self._scene
        super().setMRMLScene(scene)
        if changed and self._current is not None:
            self._current = None
            self.currentNodeChanged.emit(None)

    def addNode(self, *args):
        raise RuntimeError("qMRMLNodeComboBox.addNode is not supported by the stand-in")


class qMRMLSegmentSelectorWidget(qMRMLWidget):
    """``qMRMLSegmentSelectorWidget``: a segmentation node and one of its segments (the first by default)."""

    SIGNALS = ("currentNodeChanged", "currentSegmentChanged", "segmentSelectionChanged")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.segmentationNodeSelectorVisible = True
        self.noneEnabled = False
        self.editEnabled = False
        self.multiSelection = False
        self._node = None
        self._segment = ""

    def currentNode(self):
        return self._node

    def setCurrentNode(self, node):
        if node is not None and not node.IsA("vtkMRMLSegmentationNode"):
            node = None
        if node is self._node:
            return
        self._node = node
        self.currentNodeChanged.emit(node)
        segmentation = node.GetSegmentation() if node is not None else None
        first = segmentation.GetNthSegmentID(0) if segmentation is not None and segmentation.GetNumberOfSegments() else ""
        self.setCurrentSegmentID(first)

    def currentSegmentID(self):
        return self._segment

    def setCurrentSegmentID(self, segment_id):
        segment_id = segment_id or ""
        if segment_id != self._segment:
            self._segment = segment_id
            self.currentSegmentChanged.emit(segment_id)


# ---------------------------------------------------------------------------------------------
# .ui loading


def _property_value(element):
    """The Python value of a ``<property>`` element of a .ui file."""
    child = next(iter(element), None)
    if child is None:
        return None
    tag, text = child.tag, (child.text or "")
    if tag == "string":
        return text
    if tag == "number":
        return int(text)
    if tag == "double":
        return float(text)
    if tag == "bool":
        return text.strip().lower() == "true"
    if tag == "stringlist":
        return [item.text or "" for item in child.findall("string")]
    if tag in ("enum", "set", "cstring"):
        return text
    if tag == "size":
        return QSize(int(child.findtext("width", "0")), int(child.findtext("height", "0")))
    return None  # rect, font, palette, ...: not needed


#: Stand-in classes by the class names a .ui file uses.
WIDGET_CLASSES = {}


def widget_class(name):
    """The stand-in class for a .ui class name; an unknown name gets a plain QWidget subclass of that name."""
    if name not in WIDGET_CLASSES:
        WIDGET_CLASSES[name] = type(name, (QWidget,), {"__module__": __name__, "UNKNOWN_UI_CLASS": True})
    return WIDGET_CLASSES[name]


LAYOUT_CLASSES = {"QVBoxLayout": QVBoxLayout, "QHBoxLayout": QHBoxLayout, "QFormLayout": QFormLayout,
                  "QGridLayout": QGridLayout}


class QUiLoader:
    """Builds the stand-in widget tree of a .ui file (``slicer.util.loadUI`` calls ``load``)."""

    def load(self, source, parent=None):
        path = source.fileName() if isinstance(source, QFile) else str(source)
        root = ElementTree.parse(path).getroot()
        top = root.find("widget")
        if top is None:
            return None
        widget = self._widget(top, parent)
        by_name = {child.objectName: child for child in [widget, *widget.findChildren()]}
        connections = root.find("connections")
        for connection in (connections if connections is not None else []):
            sender = by_name.get(connection.findtext("sender"))
            receiver = by_name.get(connection.findtext("receiver"))
            signal, slot = connection.findtext("signal"), connection.findtext("slot")
            if sender is None or receiver is None:
                raise RuntimeError(f"{path}: connection between unknown widgets {ElementTree.tostring(connection)!r}")
            slot_method = getattr(receiver, slot.split("(")[0], None)
            if slot_method is None:
                raise RuntimeError(f"{path}: {type(receiver).__name__} '{receiver.objectName}' has no slot {slot}")
            sender.connect(signal, slot_method)
        return widget

    def _widget(self, element, parent):
        widget = widget_class(element.get("class"))(parent)
        widget.objectName = element.get("name") or ""
        self._properties(widget, element)
        for child in element:
            if child.tag == "widget":
                self._widget(child, widget)
            elif child.tag == "layout":
                self._layout(child, widget)
        return widget

    def _layout(self, element, owner):
        layout_class = LAYOUT_CLASSES.get(element.get("class"), QLayout)
        layout = layout_class()
        layout.objectName = element.get("name") or ""
        if isinstance(owner, QWidget):
            owner.setLayout(layout)
        else:
            owner.addLayout(layout)
        for item in element.findall("item"):
            for child in item:
                if child.tag == "widget":
                    layout.addWidget(self._widget(child, layout._owner()))
                elif child.tag == "layout":
                    self._layout(child, layout)
        return layout

    def _properties(self, widget, element):
        for prop in element.findall("property"):
            name, value = prop.get("name"), _property_value(prop)
            if prop.get("stdset") == "0":
                widget._properties[name] = value  # dynamic property, e.g. SlicerParameterName
            elif value is not None and (hasattr(type(widget), name) or name in widget.__dict__):
                try:
                    setattr(widget, name, value)
                except (AttributeError, TypeError, ValueError):
                    widget._properties[name] = value
            else:
                widget._properties[name] = value


# ---------------------------------------------------------------------------------------------
# slicer.app


class ModuleManager(QObject):
    SIGNALS = ("moduleAboutToBeUnloaded", "moduleLoaded")


class Application(QObject):
    """``slicer.app`` (a ``qSlicerApplication``) without a main window: ``layoutManager()`` is None."""

    def __init__(self, scene, application_logic=None, temporary_path="/tmp"):
        super().__init__()
        self._scene = scene
        self._applicationLogic = application_logic
        self._moduleManager = ModuleManager()
        self._settings = QSettings()
        self.testing = False
        self.applicationName = "Slicer"
        self.applicationVersion = "stand-in"
        self.temporaryPath = temporary_path
        self.documentationBaseUrl = "https://slicer.readthedocs.io/en/latest/"
        self.commandOptions = lambda: types.SimpleNamespace(noMainWindow=True, testingEnabled=self.testing)
        self.processedEvents = 0

    def testingEnabled(self):
        return self.testing

    def processEvents(self, *args):
        self.processedEvents += 1
        EVENT_LOOP.process()

    def layoutManager(self):
        return None

    def mrmlScene(self):
        return self._scene

    def applicationLogic(self):
        return self._applicationLogic

    def moduleManager(self):
        return self._moduleManager

    def settings(self):
        return self._settings

    def userSettings(self):
        return self._settings

    def revisionUserSettings(self):
        return self._settings

    def translate(self, context, text):
        return text

    def thread(self):
        return QThread._main

    def topLevelWidgets(self):
        return []

    def pythonConsole(self):
        return None

    def moduleDocumentationUrl(self, name):
        return self.documentationBaseUrl + name

    def setOverrideCursor(self, cursor):
        QApplication.setOverrideCursor(cursor)

    def restoreOverrideCursor(self):
        QApplication.restoreOverrideCursor()

    def keyboardModifiers(self):
        return 0

    def restart(self):
        raise RuntimeError("slicer.app.restart() called by the code under test")

    def exit(self, status=0):
        raise SystemExit(status)


# ---------------------------------------------------------------------------------------------
# qt and ctk modules


_QT_NAMES = ["Signal", "QObject", "QWidget", "QLayout", "QVBoxLayout", "QHBoxLayout", "QFormLayout", "QGridLayout",
             "QLabel", "QAbstractButton", "QPushButton", "QToolButton", "QCheckBox", "QRadioButton", "QSpinBox",
             "QSlider", "QDoubleSpinBox", "QProgressBar", "QComboBox", "QLineEdit", "QTextEdit", "QPlainTextEdit",
             "QScrollBar", "QGroupBox", "QFrame", "QTabWidget", "QStackedWidget", "QScrollArea", "QSplitter",
             "QListWidget", "QTableWidget", "QTreeView", "QMainWindow", "QDialog", "QMessageBox", "QProgressDialog",
             "QMenu", "QAction", "QShortcut", "QColor", "QFont", "QKeySequence", "QIcon", "QSize", "QSizePolicy",
             "QSettings", "QFile", "QDir", "QThread", "QTimer", "QApplication", "QUiLoader"]
_CTK_NAMES = ["ctkCollapsibleButton", "ctkCollapsibleGroupBox", "ctkCheckBox", "ctkCheckablePushButton",
              "ctkSliderWidget", "ctkDoubleSpinBox", "ctkDoubleSlider", "ctkComboBox", "ctkRangeWidget",
              "ctkDoubleRangeSlider", "ctkPathLineEdit", "ctkDirectoryButton", "ctkColorPickerButton",
              "ctkMessageBox"]
#: The qMRML widget classes, set on the ``slicer`` module (Slicer's PythonQt kits put them there).
SLICER_WIDGET_NAMES = ["qMRMLWidget", "qMRMLNodeComboBox", "qMRMLSegmentSelectorWidget", "qMRMLSliderWidget",
                       "qMRMLSpinBox", "qMRMLRangeWidget"]


def install():
    """Put the ``qt`` and ``ctk`` stand-in modules into ``sys.modules``; return ``(qt, ctk)``."""
    this = sys.modules[__name__]
    qt = types.ModuleType("qt", "Stand-in for PythonQt's qt module (Testing/slicer_runtime/standins.py).")
    for name in _QT_NAMES:
        setattr(qt, name, getattr(this, name))
    qt.Qt = _Enums()
    ctk = types.ModuleType("ctk", "Stand-in for CTK's Python module (Testing/slicer_runtime/standins.py).")
    for name in _CTK_NAMES:
        setattr(ctk, name, getattr(this, name))
    for module in (qt, ctk):
        for name in dir(module):
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, QObject):
                WIDGET_CLASSES.setdefault(name, value)
    for name in SLICER_WIDGET_NAMES:
        WIDGET_CLASSES.setdefault(name, getattr(this, name))
    sys.modules["qt"] = qt
    sys.modules["ctk"] = ctk
    return qt, ctk
