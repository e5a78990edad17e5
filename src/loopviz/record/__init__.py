"""Recording: the instrumented event loop, the recording session, and running a program
under them in a child process. It writes traces and knows nothing of the model or the screen."""
