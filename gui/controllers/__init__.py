"""What the main window does, one small class per concern: each is made by the window with
the window itself, reaches the widgets and models through it, and is wired to their signals in
``MainWindow._connect``. Some add a whole feature from outside the window (flatten)."""
