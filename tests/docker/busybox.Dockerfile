# Debian's static busybox in an empty image: the stand-in for the data
# services of the stack tests (httpd, nc, wget, sh), built locally with no
# registry (`apt-get install busybox-static`).
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENTRYPOINT []
CMD ["/bin/sh"]
