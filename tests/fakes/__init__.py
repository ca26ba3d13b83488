"""Local protocol doubles: real HTTP servers on 127.0.0.1 that behave like the documented platforms."""
